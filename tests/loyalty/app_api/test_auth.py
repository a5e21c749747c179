"""The app's registration and sign-in over HTTP (L-ACT-2, L-AUTH, SPEC §4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kabinet.accounts.models import Challenge
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import (
    Account,
    AppToken,
    Card,
    Consent,
    KnownDevice,
    MemberProfile,
)
from kabinet.notifications.models import Message
from tests.accounts.helpers import last_code, other_code, sms_to
from tests.loyalty.app_api.helpers import (
    ANNA_PHONE,
    PASSWORD,
    SHARED_TABLET,
    App,
    anadyr,
    error,
    issued_card,
    register_body,
    snapshot,
)

pytestmark = pytest.mark.django_db

NEW_PHONE = "+79165550101"


# --- registration (L-ACT-2) -------------------------------------------------------------------


def test_register_a_plastic_card_then_confirm_with_the_code_from_the_sms():
    card = issued_card()
    app = App(device_id="new-phone")

    started = app.post("auth/register", register_body(NEW_PHONE, card=card.number))

    assert started.status_code == 202
    challenge_id = started.json()["challenge_id"]
    assert not Account.objects.filter(user__phone=NEW_PHONE).exists()  # nothing until the code
    confirmed = app.post(
        "auth/register/confirm", {"challenge_id": challenge_id, "code": last_code(NEW_PHONE)}
    )

    assert confirmed.status_code == 201
    body = confirmed.json()
    assert body["card"] == card.number and body["virtual"] is False
    card.refresh_from_db()
    account = Account.objects.get(user__phone=NEW_PHONE)
    assert card.state == "active" and card.account == account
    assert account.city.name_ru == "Москва"
    member_profile = MemberProfile.objects.get(account=account)
    assert member_profile.channel == "app"
    assert (member_profile.marketing_sms, member_profile.marketing_push) == (True, True)
    assert (member_profile.marketing_email, member_profile.marketing_voice) == (False, False)
    assert set(Consent.objects.filter(account=account).values_list("kind", flat=True)) == {
        "personal_data",
        "rules",
    }
    # The token works, and only its hash is stored.
    app.token = body["token"]
    assert app.get("me").json()["phone"] == NEW_PHONE
    assert not AppToken.objects.filter(token_hash=body["token"]).exists()
    # The device proved the phone: the next sign-in from it needs no code.
    assert (
        App(device_id="new-phone")
        .post("auth/login", {"phone": "9165550101", "password": PASSWORD})
        .status_code
        == 200
    )


def test_register_without_a_card_issues_a_virtual_one():
    app = App()
    started = app.post("auth/register", register_body(NEW_PHONE, card=None))
    body = app.post(
        "auth/register/confirm",
        {"challenge_id": started.json()["challenge_id"], "code": last_code(NEW_PHONE)},
    ).json()

    card = Card.objects.get(number=body["card"])
    assert body["virtual"] is True and card.virtual and card.state == "active"


def test_register_in_a_region_without_the_program_is_refused_before_any_sms():
    """L-ACT-2: Анадырь (Чукотка, region 87) — «меню активации карты станет недоступным»."""
    city = anadyr()
    assert city.region.code == "87" and city.region.loyalty_active is False
    before = (Challenge.objects.count(), Message.objects.count(), Card.objects.count())

    response = App().post(
        "auth/register", register_body(NEW_PHONE, card=issued_card().number, city_id=city.pk)
    )

    assert error(response) == (422, "program_not_available", "city_id")
    assert "Чукотский автономный округ" in response.json()["error"]["message"]
    assert (Challenge.objects.count(), Message.objects.count(), Card.objects.count() - 1) == before


def test_the_city_list_says_where_activation_is_offered():
    rows = {c["name"]: c for c in App().get("cities", {"q": "анад"}).json()}

    assert rows["Анадырь"]["program_active"] is False
    assert rows["Анадырь"]["region"] == "Чукотский автономный округ"
    moscow = App().get("cities", {"q": "моск"}).json()[0]
    assert (moscow["name"], moscow["program_active"]) == ("Москва", True)


def test_register_an_unknown_city_is_refused():
    response = App().post("auth/register", register_body(NEW_PHONE, city_id=999_999_999))
    assert error(response) == (422, "city_not_found", "city_id")


@pytest.mark.parametrize(
    ("state", "code"),
    [("active", "card_already_active"), ("blocked", "card_blocked")],
)
def test_a_card_already_active_or_blocked_gets_a_precise_answer(world, state, code):
    card = world.anna.card
    if state == "blocked":
        card = issued_card()
        Card.objects.filter(pk=card.pk).update(state="blocked")

    response = App().post("auth/register", register_body(NEW_PHONE, card=card.number))

    assert error(response) == (422, code, "card")
    assert not Challenge.objects.filter(phone=NEW_PHONE).exists()


def test_a_mistyped_or_unknown_card_number_gets_a_precise_answer():
    good = issued_card().number
    mistyped = good[:-1] + str((int(good[-1]) + 1) % 10)

    assert error(App().post("auth/register", register_body(NEW_PHONE, card=mistyped)))[1] == (
        "invalid_card_number"
    )
    unknown = cardnumbers.complete_card_number("277099999999999")
    assert error(App().post("auth/register", register_body(NEW_PHONE, card=unknown))) == (
        422,
        "card_not_found",
        "card",
    )


def test_every_refused_field_is_named_at_once():
    response = App().post(
        "auth/register",
        register_body(
            NEW_PHONE,
            first_name="Anna",
            password="short",
            consents={"personal_data": True, "rules": False},
        ),
    )

    status, code, field = error(response)
    assert (status, code) == (422, "validation_error")
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"first_name", "password", "consents.rules"}
    assert field == "first_name"
    assert not Challenge.objects.exists()


def test_a_phone_of_another_member_is_refused_without_saying_whose(world):
    response = App().post("auth/register", register_body(world.anna.phone))

    assert error(response)[0] == 422
    fields = response.json()["error"]["fields"]
    assert "phone" in fields and "Анна" not in fields["phone"]


def test_a_wrong_registration_code_creates_nothing_and_counts():
    app = App()
    challenge_id = app.post("auth/register", register_body(NEW_PHONE)).json()["challenge_id"]

    response = app.post(
        "auth/register/confirm",
        {"challenge_id": challenge_id, "code": other_code(last_code(NEW_PHONE))},
    )

    assert error(response) == (422, "code_wrong", "code")
    assert not Account.objects.filter(user__phone=NEW_PHONE).exists()
    assert Challenge.objects.get(pk=challenge_id).attempts == 1


def test_a_code_can_be_resent_after_the_cool_down(monkeypatch):
    app = App()
    started = app.post("auth/register", register_body(NEW_PHONE)).json()
    too_soon = app.post("auth/code/resend", {"challenge_id": started["challenge_id"]})
    assert error(too_soon)[:2] == (429, "code_resend_too_soon")
    assert int(too_soon["Retry-After"]) > 0

    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr(timezone, "now", lambda: later)
    resent = app.post("auth/code/resend", {"challenge_id": started["challenge_id"]})

    assert resent.status_code == 202
    assert len(sms_to(NEW_PHONE)) == 2


def test_malformed_bodies_are_validation_errors():
    assert error(App().post("auth/register", "{not json")) == (400, "validation_error", None)
    response = App().post("auth/register", {**register_body(NEW_PHONE), "birth_date": "вчера"})
    assert error(response) == (422, "validation_error", "birth_date")


# --- sign-in (L-AUTH-1, L-AUTH-2) -------------------------------------------------------------


def test_login_from_a_known_device_gives_a_token_at_once(world):
    app = App(device_id=SHARED_TABLET)

    response = app.post("auth/login", {"phone": "8 (916) 111-00-01", "password": PASSWORD})

    assert response.status_code == 200
    app.token = response.json()["token"]
    assert app.get("me").json()["first_name"] == "Анна"


def test_login_from_a_new_device_is_confirmed_by_sms_and_the_device_is_remembered(world):
    app = App(device_id="annas-new-phone")

    started = app.post("auth/login", {"phone": ANNA_PHONE, "password": PASSWORD})

    assert started.status_code == 202
    assert "token" not in started.json()
    confirmed = app.post(
        "auth/login/confirm",
        {"challenge_id": started.json()["challenge_id"], "code": last_code(ANNA_PHONE)},
    )
    assert confirmed.status_code == 200
    app.token = confirmed.json()["token"]
    assert app.get("me").json()["phone"] == ANNA_PHONE
    again = App(device_id="annas-new-phone").post(
        "auth/login", {"phone": ANNA_PHONE, "password": PASSWORD}
    )
    assert again.status_code == 200


def test_login_without_a_device_id_is_always_confirmed(world):
    response = App().post("auth/login", {"phone": ANNA_PHONE, "password": PASSWORD})
    assert response.status_code == 202


def test_a_device_known_for_one_member_of_a_household_is_new_for_the_other(world):
    """Anna and Boris share a tablet; Anna confirming it says nothing about Boris."""
    KnownDevice.objects.filter(user=world.boris.account.user).delete()
    app = App(device_id=SHARED_TABLET)

    assert app.post("auth/login", {"phone": ANNA_PHONE, "password": PASSWORD}).status_code == 200
    boris = app.post("auth/login", {"phone": world.boris.phone, "password": PASSWORD})
    assert boris.status_code == 202


def test_a_member_who_asked_to_confirm_every_login_is_always_asked(world):
    world.anna.app.patch("me", {"always_confirm_login": True})

    response = App(device_id=SHARED_TABLET).post(
        "auth/login", {"phone": ANNA_PHONE, "password": PASSWORD}
    )

    assert response.status_code == 202


def test_a_login_code_of_one_member_does_not_sign_in_another(world):
    anna = App(device_id="x").post("auth/login", {"phone": ANNA_PHONE, "password": PASSWORD})
    viktor = App(device_id="y").post(
        "auth/login", {"phone": world.viktor.phone, "password": PASSWORD}
    )
    annas_code = last_code(ANNA_PHONE)
    if annas_code == last_code(world.viktor.phone):  # one chance in 10 000
        annas_code = other_code(annas_code)

    refused = App().post(
        "auth/login/confirm",
        {"challenge_id": viktor.json()["challenge_id"], "code": annas_code},
    )
    token = App().post(
        "auth/login/confirm",
        {"challenge_id": anna.json()["challenge_id"], "code": last_code(ANNA_PHONE)},
    )

    assert error(refused)[:2] == (422, "code_wrong")
    assert App(token.json()["token"]).get("me").json()["phone"] == ANNA_PHONE


def test_wrong_password_and_unknown_phone_read_the_same(world):
    wrong = App().post("auth/login", {"phone": ANNA_PHONE, "password": "Wrong2026xx"})
    unknown = App().post("auth/login", {"phone": "+79169998877", "password": "Wrong2026xx"})

    assert wrong.status_code == unknown.status_code == 422
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_failed_logins_are_locked_out_with_retry_after(world):
    for _ in range(5):
        App().post("auth/login", {"phone": ANNA_PHONE, "password": "Wrong2026xx"})

    response = App(device_id=SHARED_TABLET).post(
        "auth/login", {"phone": ANNA_PHONE, "password": PASSWORD}
    )

    assert error(response)[:2] == (429, "login_locked")
    assert int(response["Retry-After"]) > 0


def test_sign_in_by_a_one_time_code_and_unknown_phones_look_the_same(world):
    known = App().post("auth/login/code", {"phone": ANNA_PHONE})
    unknown = App().post("auth/login/code", {"phone": "+79169998877"})

    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json())
    assert sms_to("+79169998877") == []
    token = App().post(
        "auth/login/confirm",
        {"challenge_id": known.json()["challenge_id"], "code": last_code(ANNA_PHONE)},
    )
    assert token.status_code == 200


# --- tokens: logout, expiry, revocation -------------------------------------------------------


def test_logout_revokes_the_token_and_only_that_one(world):
    anna = world.anna.app
    other_device = App(
        App(device_id=SHARED_TABLET)
        .post("auth/login", {"phone": ANNA_PHONE, "password": PASSWORD})
        .json()["token"]
    )

    assert anna.post("auth/logout").status_code == 204

    assert error(anna.get("me")) == (401, "unauthorized", None)
    assert anna.get("me")["WWW-Authenticate"] == "Bearer"
    assert error(anna.post("auth/logout"))[:2] == (401, "unauthorized")
    assert other_device.get("me").status_code == 200
    assert world.boris.app.get("me").status_code == 200


def test_logout_everywhere_ends_every_token_of_the_member_only(world):
    second = App(
        App(device_id=SHARED_TABLET)
        .post("auth/login", {"phone": ANNA_PHONE, "password": PASSWORD})
        .json()["token"]
    )

    assert world.anna.app.post("auth/logout/all").status_code == 204

    assert second.get("me").status_code == 401
    assert world.anna.app.get("me").status_code == 401
    assert not KnownDevice.objects.filter(user=world.anna.account.user).exists()
    assert world.boris.app.get("me").status_code == 200


def test_an_expired_token_is_refused(world):
    record = AppToken.objects.get(user=world.anna.account.user)
    AppToken.objects.filter(pk=record.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert error(world.anna.app.get("me/balance")) == (401, "unauthorized", None)


def test_a_used_token_slides_its_expiry_and_an_idle_one_runs_out(world, monkeypatch):
    start = timezone.now()
    record = AppToken.objects.get(user=world.anna.account.user)
    day_89 = start + timedelta(days=89)
    monkeypatch.setattr(timezone, "now", lambda: day_89)

    assert world.anna.app.get("me").status_code == 200
    record.refresh_from_db()
    assert record.expires_at == day_89 + timedelta(days=90)
    assert record.last_used_at == day_89

    day_91_of_boris = start + timedelta(days=91)
    monkeypatch.setattr(timezone, "now", lambda: day_91_of_boris)
    assert world.boris.app.get("me").status_code == 401
    assert world.anna.app.get("me").status_code == 200


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer nonsense", "Token abc", "Bearer " + "x" * 500],
)
def test_missing_or_bad_tokens_are_unauthorized(world, header):
    app = App()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    for path in ("me", "me/balance", "me/receipts", "me/card", "offers", "me/notifications"):
        response = app.client.get("/api/app/v1/" + path, **extra)
        assert error(response) == (401, "unauthorized", None), path
    response = app.client.post("/api/app/v1/auth/logout", **extra)
    assert response.status_code == 401


# --- password reset (L-AUTH-3, L-AUTH-4) -------------------------------------------------------


def test_password_reset_answers_alike_and_sends_only_to_the_member(world):
    birth = world.anna.account.birth_date.isoformat()
    right = App().post("auth/password-reset", {"phone": ANNA_PHONE, "birth_date": birth})
    wrong_birth = App().post(
        "auth/password-reset", {"phone": world.boris.phone, "birth_date": "1970-01-01"}
    )
    unknown = App().post("auth/password-reset", {"phone": "+79169998877", "birth_date": birth})

    assert right.status_code == wrong_birth.status_code == unknown.status_code == 202
    assert set(right.json()) == set(wrong_birth.json()) == set(unknown.json())
    assert len(sms_to(ANNA_PHONE)) == 2  # registration, then the reset
    assert len(sms_to(world.boris.phone)) == 1  # registration only
    assert sms_to("+79169998877") == []


def test_password_reset_sets_the_new_password_and_ends_old_tokens(world):
    birth = world.anna.account.birth_date.isoformat()
    challenge_id = (
        App()
        .post("auth/password-reset", {"phone": ANNA_PHONE, "birth_date": birth})
        .json()["challenge_id"]
    )

    response = App().post(
        "auth/password-reset/confirm",
        {
            "challenge_id": challenge_id,
            "code": last_code(ANNA_PHONE),
            "new_password": "Novyi2026ok",
        },
    )

    assert response.status_code == 204 and response.content == b""
    assert world.anna.app.get("me").status_code == 401  # the token made with the old password
    assert world.boris.app.get("me").status_code == 200
    new = App(device_id=SHARED_TABLET).post(
        "auth/login", {"phone": ANNA_PHONE, "password": "Novyi2026ok"}
    )
    assert new.status_code == 200


def test_a_decoy_reset_challenge_never_confirms(world):
    challenge_id = (
        App()
        .post("auth/password-reset", {"phone": "+79169998877", "birth_date": "1990-01-01"})
        .json()["challenge_id"]
    )
    before = snapshot(world.anna.account)

    response = App().post(
        "auth/password-reset/confirm",
        {"challenge_id": challenge_id, "code": "0000", "new_password": "Novyi2026ok"},
    )

    assert error(response)[:2] == (422, "code_wrong")
    assert snapshot(world.anna.account) == before


def test_a_weak_new_password_is_refused_without_burning_the_code(world):
    birth = world.anna.account.birth_date.isoformat()
    challenge_id = (
        App()
        .post("auth/password-reset", {"phone": ANNA_PHONE, "birth_date": birth})
        .json()["challenge_id"]
    )

    weak = App().post(
        "auth/password-reset/confirm",
        {"challenge_id": challenge_id, "code": last_code(ANNA_PHONE), "new_password": "short"},
    )

    assert error(weak)[0] == 422 and error(weak)[2] == "password"
    assert Challenge.objects.get(pk=challenge_id).used_at is None


def test_registration_attempts_are_limited_per_address(world):
    for _ in range(20):
        App().post("auth/register", register_body(world.anna.phone))

    response = App().post("auth/register", register_body(NEW_PHONE))

    assert error(response)[:2] == (429, "registration_limited")
    assert int(response["Retry-After"]) > 0
    assert not Challenge.objects.filter(phone=NEW_PHONE).exists()


def test_dead_tokens_are_purged_and_live_ones_kept(world):
    from kabinet.loyalty.services import app_tokens

    long_ago = timezone.now() - timedelta(days=31)
    AppToken.objects.filter(user=world.anna.account.user).update(revoked_at=long_ago)
    AppToken.objects.filter(user=world.boris.account.user).update(expires_at=long_ago)

    assert app_tokens.purge_dead() == 2

    assert list(AppToken.objects.values_list("user_id", flat=True)) == [
        world.viktor.account.user_id
    ]
    assert world.viktor.app.get("me").status_code == 200
