"""The home page and the development outbox open in Russian in a real Chromium."""

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_page_in_russian_and_switch_to_english(page):
    page.goto(page.base_url + "/")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.get_by_role("link", name="Личный кабинет").is_visible()
    screenshot(page, "home-ru")

    page.get_by_role("button", name="EN").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Personal account").is_visible()
    assert page.console_errors == []


def test_outbox_shows_a_message_in_russian(page):
    from kabinet.notifications.services import notify

    notify(
        channel="sms",
        to="+79161234567",
        template="otp_code",
        context={"code": "4321", "purpose": "registration"},
    )
    page.goto(page.base_url + "/dev/outbox/")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.get_by_text("4321").first.is_visible()
    screenshot(page, "outbox-ru")
    assert page.console_errors == []
