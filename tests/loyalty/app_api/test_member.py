"""The member's own data over the app API (L-CAB), with the household and the stranger:
nothing of one member is ever read or changed through another's token."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kabinet.geo.models import City
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import (
    Account,
    Card,
    MemberProfile,
    PersonalOffer,
    PremiumGood,
    PromoGood,
    PushToken,
)
from kabinet.loyalty.services import ledger
from tests.accounts.helpers import last_code
from tests.loyalty.app_api.helpers import App, error, snapshot
from tests.loyalty.factories import StaffFactory, StoreFactory, demo_levels, terminal
from tests.loyalty.pos_client import Till, purchase_body

pytestmark = pytest.mark.django_db


def buy(card: Card, *amounts: str, number: str, redeem: str = "0.00", at=None) -> dict:
    """A receipt through the real POS API, as a till records it."""
    _terminal, token = terminal(StoreFactory(name="Магнит у дома", code=f"ST-{number}"))
    body = purchase_body(card.number, *amounts, number=number, redeem=redeem, at=at)
    response = Till(token).commit(body, key=f"k-{number}")
    assert response.status_code == 201, response.content
    return response.json()


# --- profile (L-CAB-5) ------------------------------------------------------------------------


def test_me_is_the_members_own_profile(world):
    body = world.anna.app.get("me").json()

    assert body["first_name"] == "Анна"
    assert body["phone"] == world.anna.phone
    assert body["email"] == world.anna.account.user.email
    assert body["city"]["name"] == "Москва" and body["city"]["program_active"] is True
    assert body["always_confirm_login"] is False
    assert world.boris.app.get("me").json()["first_name"] == "Борис"


def test_patch_me_changes_name_and_email_of_this_member_only(world):
    before = snapshot(world.boris.account, world.viktor.account)

    response = world.anna.app.patch("me", {"first_name": "Анюта", "email": "anyuta@mail.ru"})

    assert response.status_code == 200
    assert (response.json()["first_name"], response.json()["email"]) == ("Анюта", "anyuta@mail.ru")
    account = Account.objects.select_related("user").get(pk=world.anna.account.pk)
    assert (account.first_name, account.user.email) == ("Анюта", "anyuta@mail.ru")
    assert snapshot(world.boris.account, world.viktor.account) == before


def test_patch_me_keeps_fields_left_out_and_refuses_bad_ones(world):
    world.anna.app.patch("me", {"email": "new@mail.ru"})
    assert world.anna.app.get("me").json()["first_name"] == "Анна"
    before = snapshot(world.anna.account)

    bad = world.anna.app.patch("me", {"first_name": "Anna"})

    assert error(bad)[0] == 422 and error(bad)[2] == "first_name"
    assert snapshot(world.anna.account) == before


def test_the_birth_date_cannot_be_changed_through_the_app(world):
    birth = world.anna.account.birth_date

    world.anna.app.patch("me", {"birth_date": "1970-01-01"})

    world.anna.account.refresh_from_db()
    assert world.anna.account.birth_date == birth


def test_phone_change_is_confirmed_by_a_code_sent_to_the_new_phone(world):
    started = world.anna.app.post("me/phone", {"phone": "+79167770000"})
    assert started.status_code == 202

    done = world.anna.app.post(
        "me/phone/confirm",
        {"challenge_id": started.json()["challenge_id"], "code": last_code("+79167770000")},
    )

    assert done.status_code == 200 and done.json()["phone"] == "+79167770000"
    assert world.anna.app.get("me").status_code == 200


def test_a_phone_change_challenge_of_one_member_cannot_be_confirmed_by_another(world):
    started = world.anna.app.post("me/phone", {"phone": "+79167770000"}).json()
    before = snapshot(world.anna.account, world.viktor.account)

    response = world.viktor.app.post(
        "me/phone/confirm",
        {"challenge_id": started["challenge_id"], "code": last_code("+79167770000")},
    )

    assert error(response)[0] == 422
    after = snapshot(world.anna.account, world.viktor.account)
    assert after[0] == before[0]


def test_the_phone_of_another_member_cannot_be_taken(world):
    response = world.viktor.app.post("me/phone", {"phone": world.anna.phone})

    assert error(response) == (422, "phone_unavailable", "phone")
    assert "Анна" not in response.json()["error"]["message"]


# --- notification channels (L-CAB-6) ----------------------------------------------------------


def test_notification_channels_read_and_replace(world):
    assert world.anna.app.get("me/notifications").json() == {
        "email": False,
        "sms": False,
        "voice": False,
        "push": False,
    }
    wanted = {"email": True, "sms": False, "voice": True, "push": True}

    response = world.anna.app.put("me/notifications", wanted)

    assert response.status_code == 200 and response.json() == wanted
    assert world.anna.app.get("me/notifications").json() == wanted
    profile = MemberProfile.objects.get(account=world.boris.account)
    assert (profile.marketing_email, profile.marketing_voice, profile.marketing_push) == (
        False,
        False,
        False,
    )


def test_notification_channels_must_all_be_given_as_booleans(world):
    response = world.anna.app.put("me/notifications", {"email": "yes", "sms": True})
    assert error(response)[:2] == (422, "validation_error")


# --- balance and receipts (L-CAB-1…4) ---------------------------------------------------------


def test_balance_with_the_month_and_the_level(db):
    demo_levels()
    from tests.loyalty.app_api.helpers import build_world

    world = build_world()
    first = buy(world.anna.card, "600.00", "400.00", number="A-1")
    ledger.adjust_points(
        account=world.anna.account, amount=5_000, reason="подарок", actor=StaffFactory()
    )

    body = world.anna.app.get("me/balance").json()

    expected = Decimal(first["earned"]) + Decimal("50.00")
    assert body["balance"] == f"{expected:.2f}"
    assert body["month"]["spent"] == "1000.00"
    assert body["month"]["counted_lines"] == 2
    assert body["level"] == {
        "name": "Базовый",
        "rate": "0.50",
        "next": {"name": "Серебряный", "spend_needed": "9000.00"},
    }
    assert world.boris.app.get("me/balance").json()["balance"] == "0.00"


def test_receipts_newest_first_only_the_members_own_and_filtered_by_period(world):
    now = timezone.now()
    old = buy(world.anna.card, "100.00", number="A-old", at=now - timedelta(days=20))
    new = buy(world.anna.card, "250.50", number="A-new")
    buy(world.boris.card, "999.00", number="B-1")

    rows = world.anna.app.get("me/receipts").json()

    assert [r["id"] for r in rows] == [new["id"], old["id"]]
    assert rows[0]["total"] == "250.50" and rows[0]["earned"] == new["earned"]
    assert rows[0]["redeemed"] == "0.00" and rows[0]["store"] == "Магнит у дома"
    assert rows[0]["datetime"].endswith("+03:00")
    today = timezone.localdate()
    recent = world.anna.app.get(
        "me/receipts", {"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()}
    ).json()
    assert [r["id"] for r in recent] == [new["id"]]
    assert [r["id"] for r in world.boris.app.get("me/receipts").json()] != [new["id"]]
    assert world.viktor.app.get("me/receipts").json() == []


def test_receipt_period_the_wrong_way_round_is_refused(world):
    response = world.anna.app.get("me/receipts", {"from": "2026-03-10", "to": "2026-03-01"})
    assert error(response) == (422, "validation_error", "from")


def test_receipt_detail_has_lines_and_breakdown(world):
    made = buy(world.anna.card, "600.00", "400.00", number="A-1")

    body = world.anna.app.get(f"me/receipts/{made['id']}").json()

    assert body["id"] == made["id"] and body["total"] == "1000.00"
    assert [(line["sku"], line["amount"]) for line in body["lines"]] == [
        ("SKU-1", "600.00"),
        ("SKU-2", "400.00"),
    ]
    assert sum(Decimal(line["earned"]) for line in body["lines"]) == Decimal(made["earned"])
    assert [(p["rule"], p["points"]) for p in body["breakdown"]] == [
        (p["rule"], p["points"]) for p in made["breakdown"]
    ]


def test_another_members_receipt_is_not_found_for_the_household_and_the_stranger(world):
    made = buy(world.anna.card, "600.00", number="A-1")
    before = snapshot(world.anna.account)

    for other in (world.boris, world.viktor):
        response = other.app.get(f"me/receipts/{made['id']}")
        assert error(response) == (404, "receipt_not_found", None)
    assert error(world.anna.app.get("me/receipts/999999999"))[:2] == (404, "receipt_not_found")
    assert snapshot(world.anna.account) == before


# --- card (L-CAB-8, L-CARD-4) -----------------------------------------------------------------


def test_my_card_shows_a_fresh_qr_that_a_till_accepts(world):
    body = world.anna.app.get("me/card").json()

    assert body["card"] == world.anna.card.number
    assert (body["status"], body["virtual"]) == ("active", False)
    assert body["qr_payload"].startswith(f"KB1:{world.anna.card.number}:")
    assert body["barcode"].startswith(world.anna.card.number) and len(body["barcode"]) == 22
    expires = timezone.datetime.fromisoformat(body["qr_expires_at"])
    assert (
        timezone.now()
        < expires
        <= timezone.now() + timedelta(seconds=cardnumbers.TOTP_STEP_SECONDS)
    )
    _terminal, token = terminal(StoreFactory())
    looked_up = Till(token).card(body["qr_payload"])
    assert looked_up.status_code == 200 and looked_up.json()["first_name"] == "Анна"


def test_issue_a_virtual_card_replaces_the_plastic_one_and_keeps_the_points(world):
    ledger.adjust_points(
        account=world.anna.account, amount=1_234, reason="подарок", actor=StaffFactory()
    )

    response = world.anna.app.post("me/card/virtual")

    assert response.status_code == 201
    body = response.json()
    assert body["virtual"] is True and body["status"] == "active" and body["qr_payload"]
    world.anna.card.refresh_from_db()
    assert world.anna.card.state == "blocked"
    assert world.anna.app.get("me/card").json()["card"] == body["card"]
    assert world.anna.app.get("me/balance").json()["balance"] == "12.34"
    world.boris.card.refresh_from_db()
    assert world.boris.card.state == "active"


def test_block_the_card_then_there_is_no_active_card_until_a_new_one(world):
    response = world.anna.app.post("me/card/block", {"reason": "потеряна"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["qr_payload"]) == ("blocked", None)
    world.anna.card.refresh_from_db()
    assert (world.anna.card.state, world.anna.card.block_reason) == ("blocked", "потеряна")
    assert error(world.anna.app.get("me/card"))[:2] == (404, "card_not_found")
    assert error(world.anna.app.post("me/card/block"))[:2] == (404, "card_not_found")
    assert world.anna.app.post("me/card/virtual").status_code == 201
    for other in (world.boris, world.viktor):
        other.card.refresh_from_db()
        assert other.card.state == "active"


def test_block_without_a_body_uses_the_default_reason(world):
    response = world.boris.app.post("me/card/block", "")
    assert response.status_code == 200
    world.boris.card.refresh_from_db()
    assert world.boris.card.state == "blocked"


# --- offers (L-CAB-7) -------------------------------------------------------------------------


def test_offers_of_the_members_region_and_own_personal_offers(world):
    today = timezone.localdate()
    moscow_region = City.objects.get(search_name="москва").region
    other_region = City.objects.get(search_name="анадырь").region
    PromoGood.objects.create(sku="P1", name="Акция Москвы", region=moscow_region)
    PromoGood.objects.create(sku="P2", name="Акция везде")
    PromoGood.objects.create(sku="P3", name="Акция Чукотки", region=other_region)
    PremiumGood.objects.create(sku="PR1", name="Премиум", valid_to=today)
    PersonalOffer.objects.create(
        account=world.anna.account,
        title="Для Анны",
        kind="percent",
        bonus_bp=200,
        valid_from=today,
        valid_to=today + timedelta(days=7),
    )
    PersonalOffer.objects.create(
        account=world.boris.account,
        title="Для Бориса",
        kind="fixed",
        fixed_points=5000,
        valid_from=today,
        valid_to=today + timedelta(days=7),
    )

    anna = world.anna.app.get("offers").json()
    boris = world.boris.app.get("offers").json()

    assert sorted(g["name"] for g in anna["promo"]) == ["Акция Москвы", "Акция везде"]
    assert [g["sku"] for g in anna["premium"]] == ["PR1"]
    assert [(o["title"], o["bonus_percent"], o["points"]) for o in anna["personal"]] == [
        ("Для Анны", "2.00", None)
    ]
    assert [(o["title"], o["points"]) for o in boris["personal"]] == [("Для Бориса", "50.00")]
    assert world.viktor.app.get("offers").json()["personal"] == []


# --- push tokens ------------------------------------------------------------------------------


def test_push_token_registration_is_idempotent(world):
    body = {"platform": "ios", "token": "apns-token-1"}

    assert world.anna.app.post("me/push-tokens", body).status_code == 204
    first = PushToken.objects.get()
    assert world.anna.app.post("me/push-tokens", body).status_code == 204

    again = PushToken.objects.get()
    assert (again.pk, again.account_id, again.platform) == (
        first.pk,
        world.anna.account.pk,
        "ios",
    )
    assert again.created_at == first.created_at


def test_a_push_token_moves_to_the_member_now_signed_in_on_the_device(world):
    body = {"platform": "android", "token": "fcm-shared-tablet"}
    world.anna.app.post("me/push-tokens", body)

    world.boris.app.post("me/push-tokens", body)

    assert list(PushToken.objects.values_list("account_id", flat=True)) == [world.boris.account.pk]


def test_a_push_token_needs_a_known_platform(world):
    response = world.anna.app.post("me/push-tokens", {"platform": "symbian", "token": "t"})
    assert error(response) == (422, "validation_error", "platform")
    assert not PushToken.objects.exists()


# --- stores (L-CAB-9) -------------------------------------------------------------------------


def test_stores_near_a_point_with_distance_and_participation(db):
    moscow = City.objects.select_related("region").get(search_name="москва")
    chukotka = City.objects.select_related("region").get(search_name="анадырь")
    near = StoreFactory(
        name="Рядом",
        city=moscow,
        region=moscow.region,
        lat=Decimal("55.7558"),
        lon=Decimal("37.6173"),
    )
    StoreFactory(
        name="Дальше",
        city=moscow,
        region=moscow.region,
        lat=Decimal("55.8000"),
        lon=Decimal("37.6173"),
        participates=False,
    )
    StoreFactory(
        name="Чукотка",
        city=chukotka,
        region=chukotka.region,
        lat=Decimal("64.7342"),
        lon=Decimal("177.5103"),
    )

    rows = App().get("stores", {"lat": "55.7558", "lon": "37.6173", "limit": 2}).json()

    assert [(r["name"], r["distance"], r["takes_part"]) for r in rows] == [
        ("Рядом", "0.00", True),
        ("Дальше", "4.91", False),
    ]
    assert rows[0]["id"] == near.pk and rows[0]["city"] == "Москва"
    in_city = App().get("stores", {"city_id": chukotka.pk}).json()
    assert [(r["name"], r["takes_part"], r["distance"]) for r in in_city] == [
        ("Чукотка", False, None)
    ]


def test_stores_need_a_point_or_a_city(db):
    assert error(App().get("stores"))[:2] == (422, "validation_error")
    assert error(App().get("stores", {"lat": "55.7"}))[:2] == (422, "validation_error")
    assert error(App().get("stores", {"lat": "95", "lon": "37"})) == (
        422,
        "validation_error",
        "lat",
    )
    assert error(App().get("stores", {"city_id": 999_999_999}))[:2] == (404, "city_not_found")


def test_cities_without_a_query_is_empty(db):
    assert App().get("cities").json() == []
