"""A member who forgot the password gets a code by phone + birth date (L-AUTH-3) and signs in
with the new password, in Chromium; an unknown phone sees exactly the same pages."""

from __future__ import annotations

from datetime import date

import pytest

from kabinet.accounts.models import User
from kabinet.loyalty.services import cards as card_services
from kabinet.notifications.models import Message
from tests.browser.conftest import screenshot
from tests.browser.test_member_registration import last_message_id, newest_code

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+79161112233"
NEW_PASSWORD = "Novyi2026parol"


def _member() -> None:
    (card,) = card_services.issue_cards(count=1, batch_name="browser-reset")
    user = User.objects.create(username=PHONE, phone=PHONE)
    user.set_password("Staryi2026parol")
    user.save()
    card_services.activate_card(
        card=card, user=user, first_name="Ольга", birth_date=date(1985, 3, 9)
    )


def _ask_for_code(page, phone: str) -> None:
    page.goto(page.base_url + "/password-reset/")
    page.get_by_label("Номер телефона").fill(phone)
    page.get_by_label("Дата рождения").fill("1985-03-09")
    page.get_by_role("button", name="Получить код").click()
    page.wait_for_load_state()


def test_forgotten_password_is_reset_by_sms_code(page):
    _member()
    before = last_message_id()
    _ask_for_code(page, "9161112233")
    screenshot(page, "member-password-reset-1-code")
    page.get_by_label("Код из SMS").fill(newest_code(PHONE, after=before))
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Сохранить пароль").click()
    page.wait_for_load_state()
    assert page.get_by_text("Пароль изменён. Войдите с новым паролем").is_visible()

    page.get_by_label("Номер телефона").fill("+7 916 111-22-33")
    page.get_by_label("Пароль").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_load_state()
    # A new browser is a new device: the sign-in is confirmed by SMS, then the cabinet opens.
    assert page.get_by_role("heading", name="Подтверждение входа").is_visible()
    page.get_by_label("Код из SMS").fill(newest_code(PHONE, after=before + 1))
    page.get_by_role("button", name="Войти").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Здравствуйте, Ольга!").is_visible()
    assert page.console_errors == []


def test_an_unknown_phone_sees_the_same_pages_and_no_sms_is_sent(page):
    before = last_message_id()
    _ask_for_code(page, "9167778899")
    assert page.get_by_label("Код из SMS").is_visible()
    assert not Message.objects.filter(pk__gt=before).exists()
