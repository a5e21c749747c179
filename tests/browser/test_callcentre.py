"""An operator activates a card for a caller in Chromium (L-ACT-3): staff login, search,
the activation form, the SMS code the caller reads out, the member card."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from kabinet.loyalty.callcentre import roles
from kabinet.loyalty.cardnumbers import format_card_number
from kabinet.loyalty.models import CardState, Level
from kabinet.loyalty.services import cards as card_services
from tests.browser.conftest import screenshot
from tests.browser.test_member_registration import newest_code

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+79161234567"


def test_operator_activates_a_card_for_a_caller(page):
    from kabinet.accounts.models import User

    Level.objects.get_or_create(threshold_kopecks=0, defaults={"name": "Базовый", "rate_bp": 50})
    operator = User.objects.create_user(username="operator", password="kabinet-demo-1")
    roles.grant(operator, roles.OPERATOR_GROUP)
    (card,) = card_services.issue_cards(count=1, batch_name=f"cc-{uuid.uuid4().hex}")

    # Staff sign in through the back office's login page and come back to the console.
    page.goto(page.base_url + "/callcentre/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "kabinet-demo-1")
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/callcentre/$"))

    page.get_by_label("Телефон или номер карты").fill(format_card_number(card.number))
    page.get_by_role("button", name="Найти").click()
    assert page.get_by_text("выпущена").is_visible()
    screenshot(page, "callcentre-1-search")
    page.locator("[data-found-card]").get_by_role("link", name="Активировать карту").click()

    assert page.get_by_label("Номер карты").input_value() == card.number
    page.get_by_label("Имя", exact=True).fill("Анна")
    page.get_by_label("Дата рождения").fill("1990-06-15")
    page.get_by_label("Телефон", exact=True).fill("8 916 123-45-67")
    page.get_by_label(re.compile("Клиент устно согласился")).check()
    screenshot(page, "callcentre-2-activation")
    page.get_by_role("button", name="Отправить код клиенту").click()
    page.wait_for_load_state()

    assert page.get_by_text("+7 916 ***-**-67").is_visible()
    expect(page.get_by_role("button", name="Отправить код ещё раз")).to_be_disabled()
    page.get_by_label("Код из SMS, который назвал клиент").fill(newest_code(PHONE))
    screenshot(page, "callcentre-3-code")
    page.get_by_role("button", name="Подтвердить активацию").click()

    page.wait_for_url(re.compile(r"/callcentre/members/\d+/$"))
    assert page.get_by_text("Карта активирована").is_visible()
    assert page.get_by_role("heading", name=re.compile("^Анна")).is_visible()
    assert page.locator("[data-phone]").inner_text() == "+7 916 ***-**-67"
    screenshot(page, "callcentre-4-member")
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE
    assert page.console_errors == []


def test_supervisor_reads_the_reports(page):
    from django.utils import timezone

    from kabinet.accounts.models import User
    from kabinet.loyalty.services.ledger import adjust_points
    from kabinet.loyalty.services.purchases import commit_purchase
    from tests.loyalty.factories import StoreFactory, member, receipt, region, terminal

    Level.objects.get_or_create(threshold_kopecks=0, defaults={"name": "Базовый", "rate_bp": 50})
    boss = User.objects.create_user(username="boss", password="kabinet-demo-1")
    roles.grant(boss, roles.SUPERVISOR_GROUP)
    now = timezone.now()
    tills = [terminal(StoreFactory(region=region(code)))[0] for code in ("77", "78")]
    for day in range(5):
        for n, till in enumerate(tills):
            _account, card = member()
            when = now - timezone.timedelta(days=day, hours=1)
            commit_purchase(
                terminal=till,
                card=card,
                receipt=receipt(100_000 * (day + n + 1), number=f"R{day}-{n}", at=when),
                redeem=0,
                idempotency_key=f"k{day}-{n}",
                now=when,
            )
    adjust_points(account=_account, amount=30_000, reason="компенсация", actor=boss)

    page.goto(page.base_url + "/callcentre/reports/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "kabinet-demo-1")
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/callcentre/reports/$"))
    assert page.locator("figure.chart svg").count() == 3
    assert page.locator("figure.chart rect").count() > 10
    assert page.get_by_role("cell", name="без региона").is_visible()
    screenshot(page, "callcentre-5-reports")
    assert page.console_errors == []
