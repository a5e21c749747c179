"""Cabinet actions (L-CAB-5, 6, 8, 10) and the household/stranger personas: nobody reaches
another member's receipt, card or data."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kabinet.accounts.models import User
from kabinet.core.models import AuditEntry
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import Account, Card, CardState, LedgerEntry, MemberProfile
from kabinet.loyalty.services import cards as card_services
from kabinet.notifications.models import Message
from tests.accounts.helpers import last_code, other_code, sms_to
from tests.loyalty import factories
from tests.loyalty.cabinet.conftest import ANNA_PHONE, BORIS_PHONE, PASSWORD

pytestmark = pytest.mark.django_db


def snapshot(account):
    account = Account.objects.select_related("user").get(pk=account.pk)
    return (
        account.first_name,
        account.balance,
        account.user.phone,
        account.user.email,
        sorted(Card.objects.filter(account=account).values_list("number", "state")),
    )


# --- another member's objects ------------------------------------------------------------------


def test_another_members_receipt_is_not_found(world):
    assert world.anna.client.get(f"/cabinet/receipts/{world.p_boris.pk}/").status_code == 404
    assert world.sergey.client.get(f"/cabinet/receipts/{world.p_march.pk}/").status_code == 404
    assert world.boris.client.get(f"/cabinet/receipts/{world.p_boris.pk}/").status_code == 200


def test_another_members_card_cannot_be_blocked_or_replaced(world):
    boris_card = world.boris.card
    before = snapshot(world.boris.account)
    fresh = factories.issued_card()
    anna = world.anna.client
    assert anna.get(f"/cabinet/card/{boris_card.pk}/block/").status_code == 404
    assert (
        anna.post(
            f"/cabinet/card/{boris_card.pk}/block/", {"reason": "lost", "confirm": "on"}
        ).status_code
        == 404
    )
    assert (
        anna.post(
            f"/cabinet/card/{boris_card.pk}/replace/", {f"r{boris_card.pk}-number": fresh.number}
        ).status_code
        == 404
    )
    assert snapshot(world.boris.account) == before
    assert Card.objects.get(pk=fresh.pk).state == CardState.ISSUED


def test_json_endpoints_show_only_the_members_own_card(world):
    code = world.anna.client.get("/cabinet/card/code.json").json()
    assert code["barcode_digits"][:16] == world.anna.card.number
    assert world.boris.card.number not in json.dumps(code)


def test_export_holds_my_receipts_and_nothing_of_others(world):
    response = world.anna.client.get("/cabinet/data/export.json")
    assert response["Content-Disposition"].startswith('attachment; filename="kabinet-my-data-')
    data = json.loads(response.content)
    assert data["profile"]["first_name"] == "Анна"
    assert data["profile"]["phone"] == ANNA_PHONE
    assert data["profile"]["balance"] == "14.97"
    assert [r["receipt_number"] for r in data["receipts"]] == ["A-1", "A-2", "A-3"]
    assert [r["total"] for r in data["receipts"]] == ["1000.00", "2000.00", "500.00"]
    assert [c["number"] for c in data["cards"]] == [world.anna.card.number]
    assert {c["kind"] for c in data["consents"]} == {"personal_data", "rules"}
    assert sorted(e["amount"] for e in data["ledger"]) == [
        "-2.50",
        "-5.00",
        "10.00",
        "10.00",
        "2.47",
    ]
    assert data["messages"] and all(
        m["to"] in (ANNA_PHONE, "anna@example.ru") for m in data["messages"]
    )
    text = response.content.decode()
    assert "B-1" not in text and BORIS_PHONE not in text and "Борис" not in text
    assert world.boris.card.number not in text


# --- profile (L-CAB-5) -------------------------------------------------------------------------


def test_profile_edit_name_and_email(world):
    page = world.anna.client.get("/cabinet/profile/").content.decode()
    assert "15.06.1990" in page
    assert "Изменить дату рождения можно только через службу поддержки" in page
    done = world.anna.client.post(
        "/cabinet/profile/", {"first_name": "  анна-мария ", "email": "Anna.New@Example.RU"}
    )
    assert done.status_code == 302
    account = Account.objects.select_related("user").get(pk=world.anna.account.pk)
    assert account.first_name == "Анна-Мария"
    assert account.user.email == "Anna.New@example.ru"
    assert AuditEntry.objects.filter(action="loyalty.member.profile_update").count() == 1


def test_profile_refuses_latin_name_and_bad_email_and_changes_nothing(world):
    before = snapshot(world.anna.account)
    refused = world.anna.client.post("/cabinet/profile/", {"first_name": "Anna", "email": "nope"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "Введите правильный адрес электронной почты, например anna@mail.ru" in page
    assert "русск" in page.lower()
    assert snapshot(world.anna.account) == before


def test_birth_date_cannot_be_changed_from_the_cabinet(world):
    world.anna.client.post(
        "/cabinet/profile/",
        {"first_name": "Анна", "email": "anna@example.ru", "birth_date": "2000-01-01"},
    )
    assert str(Account.objects.get(pk=world.anna.account.pk).birth_date) == "1990-06-15"


def test_phone_change_is_confirmed_by_a_code_sent_to_the_new_phone(world, clock):
    new = "+79260001122"
    client = world.anna.client
    started = client.post("/cabinet/profile/phone/", {"phone": "8 (926) 000-11-22"})
    assert started["Location"] == "/cabinet/profile/phone/confirm/"
    assert len(sms_to(new)) == 1
    page = client.get("/cabinet/profile/phone/confirm/").content.decode()
    assert "+7 926 ***-**-22" in page

    too_soon = client.post("/cabinet/profile/phone/resend/", follow=True).content.decode()
    assert "Повторно отправить код можно через 60 с" in too_soon
    assert len(sms_to(new)) == 1
    clock.advance(seconds=61)
    client.post("/cabinet/profile/phone/resend/")
    assert len(sms_to(new)) == 2

    wrong = client.post("/cabinet/profile/phone/confirm/", {"code": other_code(last_code(new))})
    assert wrong.status_code == 400
    assert User.objects.get(pk=world.anna.user.pk).phone == ANNA_PHONE

    done = client.post("/cabinet/profile/phone/confirm/", {"code": last_code(new)})
    assert done["Location"] == "/cabinet/profile/"
    user = User.objects.get(pk=world.anna.user.pk)
    assert (user.phone, user.username) == (new, new)
    assert AuditEntry.objects.filter(action="loyalty.member.phone_change").count() == 1
    assert sms_to(ANNA_PHONE)[-1] == (
        "Номер телефона личного кабинета изменён на +7 926 ***-**-22. "
        "Если это были не вы, позвоните 8 800 200-90-02."
    )
    # The member signs in with the new phone now.
    fresh = Client()
    clock.advance(seconds=61)
    assert fresh.post("/login/", {"phone": "9260001122", "password": PASSWORD}).status_code == 302


def test_phone_of_another_member_is_refused_neutrally_and_no_code_is_sent(world):
    sent = Message.objects.count()
    refused = world.anna.client.post("/cabinet/profile/phone/", {"phone": BORIS_PHONE})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "Этот номер нельзя привязать к вашему кабинету" in page
    assert "Борис" not in page
    assert Message.objects.count() == sent
    bad = world.anna.client.post("/cabinet/profile/phone/", {"phone": "12345"})
    assert "Введите номер мобильного телефона, например 9161234567" in bad.content.decode()


def test_a_phone_change_code_cannot_be_used_by_another_member(world):
    new = "+79260001133"
    world.anna.client.post("/cabinet/profile/phone/", {"phone": new})
    # Boris has no pending change: his confirm page sends him back to the profile.
    response = world.boris.client.post("/cabinet/profile/phone/confirm/", {"code": last_code(new)})
    assert response["Location"] == "/cabinet/profile/"
    assert User.objects.get(pk=world.boris.user.pk).phone == BORIS_PHONE


# --- notification channels (L-CAB-6) -----------------------------------------------------------


def test_channels_are_saved(world):
    page = world.anna.client.get("/cabinet/notifications/").content.decode()
    assert "Сообщения о безопасности" in page
    world.anna.client.post("/cabinet/notifications/", {"email": "on", "push": "on"})
    profile = MemberProfile.objects.get(account=world.anna.account)
    assert (
        profile.marketing_email,
        profile.marketing_sms,
        profile.marketing_voice,
        profile.marketing_push,
    ) == (True, False, False, True)
    boris = MemberProfile.objects.get(account=world.boris.account)
    assert (boris.marketing_sms, boris.marketing_email) == (True, False)  # untouched


# --- card (L-CAB-8) ----------------------------------------------------------------------------


def test_card_page_shows_a_valid_rotating_code(world, clock):
    card = world.anna.card
    page = world.anna.client.get("/cabinet/card/").content.decode()
    assert 'src="data:image/svg+xml;' in page and "data-barcode" in page
    assert cardnumbers.format_card_number(card.number) in page
    code = world.anna.client.get("/cabinet/card/code.json")
    assert code["Cache-Control"].startswith("max-age=0")
    body = code.json()
    assert body["qr"].startswith("data:image/svg+xml") and body["barcode"].startswith(
        "data:image/svg+xml;base64,"
    )
    digits = body["barcode_digits"]
    assert len(digits) == 22 and digits[:16] == card.number
    assert cardnumbers.verify_code(bytes(card.totp_secret), digits[16:], at=clock.now) is not None
    assert 1 <= body["refresh_in"] <= 30


def test_issue_a_virtual_card(world):
    old = world.anna.card
    assert world.anna.client.post("/cabinet/card/virtual/").status_code == 302
    new = world.anna.card
    assert new.virtual and new.pk != old.pk
    old.refresh_from_db()
    assert old.state == CardState.BLOCKED and old.replaced_by_id == new.pk
    assert Account.objects.get(pk=world.anna.account.pk).balance == 1497


def test_block_a_lost_card_needs_confirmation(world):
    card = world.anna.card
    url = f"/cabinet/card/{card.pk}/block/"
    assert "Блокировка карты" in world.anna.client.get(url).content.decode()
    unconfirmed = world.anna.client.post(url, {"reason": "lost"})
    assert unconfirmed.status_code == 400
    assert "Подтвердите блокировку карты" in unconfirmed.content.decode()
    assert Card.objects.get(pk=card.pk).state == CardState.ACTIVE
    done = world.anna.client.post(url, {"reason": "lost", "confirm": "on"})
    assert done["Location"] == "/cabinet/card/"
    card.refresh_from_db()
    assert (card.state, card.block_reason) == (CardState.BLOCKED, "Карта потеряна")
    assert AuditEntry.objects.filter(action="loyalty.card.block", object_id=str(card.pk)).exists()


def test_replace_a_blocked_card_with_a_new_plastic_card(world):
    card = world.anna.card
    card_services.block_card(card=card, reason="потеряна", actor=world.anna.user)
    url = f"/cabinet/card/{card.pk}/replace/"
    field = f"r{card.pk}-number"
    typo = world.anna.client.post(url, {field: "2770 0000 0000 0001"})
    assert typo.status_code == 400
    fresh = factories.issued_card()
    wrong_digit = fresh.number[:-1] + str((int(fresh.number[-1]) + 1) % 10)
    assert world.anna.client.post(url, {field: wrong_digit}).status_code == 400
    taken = world.anna.client.post(url, {field: world.boris.card.number})
    assert "Эта карта уже использована или заблокирована" in taken.content.decode()
    unknown = cardnumbers.complete_card_number("277099999999999")
    assert (
        "Карта с таким номером не найдена"
        in world.anna.client.post(url, {field: unknown}).content.decode()
    )
    assert not Card.objects.filter(account=world.anna.account, state=CardState.ACTIVE).exists()

    done = world.anna.client.post(url, {field: cardnumbers.format_card_number(fresh.number)})
    assert done["Location"] == "/cabinet/card/"
    fresh.refresh_from_db()
    assert (fresh.state, fresh.account_id) == (CardState.ACTIVE, world.anna.account.pk)
    card.refresh_from_db()
    assert card.replaced_by_id == fresh.pk


def test_an_active_card_must_be_blocked_before_replacement(world):
    card = world.anna.card
    fresh = factories.issued_card()
    response = world.anna.client.post(
        f"/cabinet/card/{card.pk}/replace/", {f"r{card.pk}-number": fresh.number}
    )
    assert response.status_code == 400
    assert Card.objects.get(pk=fresh.pk).state == CardState.ISSUED


# --- closing the account (L-CAB-10) ------------------------------------------------------------


def test_close_account_needs_the_password_and_changes_nothing_without_it(world):
    before = snapshot(world.anna.account)
    refused = world.anna.client.post(
        "/cabinet/data/close/", {"password": "Wrong2026pass", "confirm": "on"}
    )
    assert refused.status_code == 400
    assert "Неверный пароль" in refused.content.decode()
    unconfirmed = world.anna.client.post("/cabinet/data/close/", {"password": PASSWORD})
    assert "Подтвердите закрытие счёта" in unconfirmed.content.decode()
    assert snapshot(world.anna.account) == before


def test_close_account_blocks_cards_writes_off_points_and_anonymises(world, clock):
    card = world.anna.card
    done = world.anna.client.post("/cabinet/data/close/", {"password": PASSWORD, "confirm": "on"})
    assert done["Location"] == "/login/"
    account = Account.objects.select_related("user").get(pk=world.anna.account.pk)
    assert (account.first_name, account.birth_date, account.city_id) == (
        "Участник удалён",
        None,
        None,
    )
    assert account.balance == 0
    user = account.user
    assert (user.phone, user.email, user.is_active, user.has_usable_password()) == (
        None,
        "",
        False,
        False,
    )
    assert Card.objects.get(pk=card.pk).state == CardState.BLOCKED
    expire = LedgerEntry.objects.get(account=account, kind="expire")
    assert expire.amount == -1497
    assert LedgerEntry.objects.filter(account=account).count() == 6  # history kept
    entry = AuditEntry.objects.get(action="loyalty.member.close")
    assert entry.data == {"blocked_cards": [card.number], "written_off": 1497}
    # Signed out, and the phone no longer signs in.
    assert world.anna.client.get("/cabinet/")["Location"].startswith("/login/")
    clock.advance(seconds=61)
    refused = Client().post("/login/", {"phone": ANNA_PHONE, "password": PASSWORD})
    assert refused.status_code != 302
    # The household's other member is untouched.
    assert Account.objects.get(pk=world.boris.account.pk).balance == 1500


def test_card_code_for_the_app_is_the_members_own_and_verifies(world, clock):
    from kabinet.loyalty import cabinet
    from kabinet.loyalty.services.cards import lookup_card

    code = cabinet.card_code(world.anna.account)
    assert code is not None and code.card.pk == world.anna.card.pk
    assert code.qr_payload.startswith(f"KB1:{world.anna.card.number}:")
    assert lookup_card(raw=code.qr_payload, at=clock.now).pk == world.anna.card.pk
    card_services.block_card(card=world.anna.card, reason="потеряна")
    assert cabinet.card_code(world.anna.account) is None
    assert world.anna.client.get("/cabinet/card/code.json").status_code == 404
