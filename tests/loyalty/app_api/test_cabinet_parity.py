"""What the web cabinet does, the app does too: the monthly chart, the data export, closing
the account, replacing a blocked card by a new plastic one and the list of cards. Each only
ever reaches the token's own member (the household and the stranger see nothing else)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from kabinet.core.money import format_amount
from kabinet.loyalty import cabinet, cardnumbers
from kabinet.loyalty.models import Account, AppToken, Card
from kabinet.loyalty.services import app_tokens, ledger
from tests.loyalty.app_api.helpers import PASSWORD, App, error, issued_card, snapshot
from tests.loyalty.app_api.test_member import buy
from tests.loyalty.factories import StaffFactory

pytestmark = pytest.mark.django_db


# --- chart (L-CAB-11) -------------------------------------------------------------------------


def test_chart_has_twelve_months_ending_with_this_one_and_only_my_receipts(world):
    buy(world.anna.card, "600.00", "400.00", number="A-1")
    buy(world.boris.card, "999.00", number="B-1")

    response = world.anna.app.get("me/chart")

    assert response.status_code == 200
    months = response.json()
    assert len(months) == 12
    assert months[-1]["month"] == f"{timezone.localdate():%Y-%m}"
    assert [m["month"] for m in months] == sorted(m["month"] for m in months)
    assert set(months[0]) == {"month", "spent", "earned", "redeemed"}
    assert months[-1]["spent"] == "1000.00"
    assert all(m["spent"] == "0.00" for m in months[:-1])
    expected = cabinet.monthly_chart(world.anna.account, timezone.localdate())[-1]
    assert months[-1]["earned"] == format_amount(expected.earned)
    assert months[-1]["redeemed"] == format_amount(expected.redeemed)
    stranger = world.viktor.app.get("me/chart").json()
    assert all(m["spent"] == "0.00" for m in stranger)


def test_chart_needs_a_token(world):
    assert error(App().get("me/chart"))[:2] == (401, "unauthorized")


# --- export (L-CAB-10) ------------------------------------------------------------------------


def test_export_is_the_same_json_as_the_web_download(world):
    buy(world.anna.card, "250.00", number="A-1")
    web = Client()
    web.force_login(world.anna.account.user)

    from_app = world.anna.app.get("me/export")
    from_web = web.get("/cabinet/data/export.json")

    assert from_app.status_code == 200 and from_web.status_code == 200
    app_body, web_body = from_app.json(), json.loads(from_web.content)
    assert app_body.pop("exported_at") and web_body.pop("exported_at")
    assert app_body == web_body


def test_export_holds_only_my_data(world):
    body = json.dumps(world.viktor.app.get("me/export").json(), ensure_ascii=False)

    assert world.viktor.phone in body
    for other in (world.anna, world.boris):
        assert other.phone not in body
        assert other.card.number not in body
        assert other.account.user.email not in body


# --- close (L-CAB-10) -------------------------------------------------------------------------


def test_close_with_a_wrong_password_changes_nothing(world):
    before = snapshot(world.anna.account, world.boris.account, world.viktor.account)

    response = world.anna.app.post("me/close", {"password": "not-my-password"})

    assert error(response) == (422, "wrong_password", "password")
    assert snapshot(world.anna.account, world.boris.account, world.viktor.account) == before
    assert world.anna.app.get("me").status_code == 200


def test_close_needs_the_password_field(world):
    assert world.anna.app.post("me/close", {}).status_code == 422
    assert world.anna.app.get("me").status_code == 200


def test_close_ends_the_account_and_every_token_of_that_member_only(world):
    ledger.adjust_points(
        account=world.anna.account, amount=500, reason="подарок", actor=StaffFactory()
    )
    other_token_of_anna = App(token=app_tokens.issue_token(user=world.anna.account.user).raw)

    response = world.anna.app.post("me/close", {"password": PASSWORD})

    assert response.status_code == 204
    assert error(world.anna.app.get("me"))[:2] == (401, "unauthorized")
    assert error(other_token_of_anna.get("me/balance"))[:2] == (401, "unauthorized")
    assert not AppToken.objects.filter(
        user=world.anna.account.user, revoked_at__isnull=True
    ).exists()
    account = Account.objects.get(pk=world.anna.account.pk)
    assert account.balance == 0 and account.birth_date is None
    assert set(Card.objects.filter(account=account).values_list("state", flat=True)) == {"blocked"}
    for other in (world.boris, world.viktor):
        assert other.app.get("me").status_code == 200
        other.card.refresh_from_db()
        assert other.card.state == "active"


# --- cards (L-CAB-8) --------------------------------------------------------------------------


def test_my_cards_lists_only_mine_active_first(world):
    world.anna.app.post("me/card/virtual")

    cards = world.anna.app.get("me/cards").json()

    assert [c["status"] for c in cards] == ["active", "blocked"]
    assert cards[0]["virtual"] is True and cards[0]["qr_payload"]
    assert cards[1]["card"] == world.anna.card.number
    assert cards[1]["replaced_by"] == cards[0]["card"]
    assert cards[1]["qr_payload"] is None
    numbers = {c["card"] for c in world.viktor.app.get("me/cards").json()}
    assert numbers == {world.viktor.card.number}


def test_replace_a_blocked_card_by_new_plastic_keeps_the_points(world):
    ledger.adjust_points(
        account=world.anna.account, amount=1_234, reason="подарок", actor=StaffFactory()
    )
    assert world.anna.app.post("me/card/block").status_code == 200
    new = issued_card()

    response = world.anna.app.post("me/card/replace", {"card": new.number})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["card"], body["status"], body["virtual"]) == (new.number, "active", False)
    assert body["qr_payload"]
    assert world.anna.app.get("me/card").json()["card"] == new.number
    assert world.anna.app.get("me/balance").json()["balance"] == "12.34"
    world.anna.card.refresh_from_db()
    assert world.anna.card.replaced_by_id == new.pk
    # Nothing is left to replace now.
    assert error(world.anna.app.post("me/card/replace", {"card": issued_card().number}))[:2] == (
        409,
        "card_not_blocked",
    )


def test_replace_refuses_with_the_precise_reason(world):
    anna = world.anna.app
    assert anna.post("me/card/block").status_code == 200
    before = snapshot(world.anna.account, world.boris.account, world.viktor.account)
    blocked = issued_card()
    Card.objects.filter(pk=blocked.pk).update(state="blocked")
    fresh = issued_card().number
    wrong_checksum = fresh[:-1] + str((int(fresh[-1]) + 1) % 10)

    assert error(anna.post("me/card/replace", {"card": "12ab"})) == (
        422,
        "invalid_card_number",
        "card",
    )
    assert error(anna.post("me/card/replace", {"card": wrong_checksum}))[:2] == (
        422,
        "invalid_card_number",
    )
    unknown = cardnumbers.complete_card_number(fresh[:4] + "0" * 11)
    assert not Card.objects.filter(number=unknown).exists()
    assert error(anna.post("me/card/replace", {"card": unknown})) == (
        422,
        "card_not_found",
        "card",
    )
    # The stranger's card, and the household's, are active: not a new card.
    for other in (world.viktor, world.boris):
        assert error(anna.post("me/card/replace", {"card": other.card.number}))[:2] == (
            409,
            "card_already_active",
        )
    assert error(anna.post("me/card/replace", {"card": blocked.number}))[:2] == (
        409,
        "card_blocked",
    )
    assert anna.post("me/card/replace", {}).status_code == 422
    assert snapshot(world.anna.account, world.boris.account, world.viktor.account) == before


def test_replace_with_an_active_card_asks_to_block_it_first(world):
    before = snapshot(world.viktor.account)

    response = world.viktor.app.post("me/card/replace", {"card": issued_card().number})

    assert error(response)[:2] == (409, "card_not_blocked")
    assert snapshot(world.viktor.account) == before


def test_the_stranger_cannot_replace_another_members_blocked_card(world):
    assert world.anna.app.post("me/card/block").status_code == 200
    assert world.viktor.app.post("me/card/block").status_code == 200
    new = issued_card()

    response = world.viktor.app.post("me/card/replace", {"card": new.number})

    assert response.status_code == 200
    new.refresh_from_db()
    assert new.account_id == world.viktor.account.pk
    world.anna.card.refresh_from_db()
    assert world.anna.card.replaced_by_id is None and world.anna.card.state == "blocked"
    assert error(world.anna.app.get("me/card"))[:2] == (404, "card_not_found")


def test_nothing_to_replace_after_a_virtual_card_replaced_the_blocked_one(world):
    world.anna.app.post("me/card/virtual")
    world.anna.app.post("me/card/block")

    response = world.anna.app.post("me/card/replace", {"card": issued_card().number})

    # The virtual card was blocked and is not yet replaced: it is the one replaced.
    assert response.status_code == 200
    cards = world.anna.app.get("me/cards").json()
    assert [c["status"] for c in cards].count("active") == 1
