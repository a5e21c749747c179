"""Activation by SMS to 9002 (L-ACT-4): the service, the signed webhook, Kannel's get-url."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from kabinet.loyalty.models import Account, CardState, Consent, InboundSms
from kabinet.loyalty.services.registration import activate_by_sms
from kabinet.loyalty.web.inbound_sms import signature
from kabinet.notifications.models import Message
from tests.accounts.helpers import sms_to
from tests.loyalty.factories import UserFactory
from tests.loyalty.members.conftest import issued_card, register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
User = get_user_model()
SENDER = "+79161234567"
URL = "/api/sms/v1/inbound"


def activate(text: str, message_id: str = "m-1", sender: str = SENDER):
    return activate_by_sms(sender_phone=sender, text=text, message_id=message_id, source="test")


def test_an_sms_activates_the_card_and_binds_the_senders_phone():
    card = issued_card()

    result = activate(f"{card.number}  анна; 15.06.90")

    card.refresh_from_db()
    account = Account.objects.get(pk=result.account_id)
    assert (result.outcome, result.code) == ("activated", "activated")
    assert card.state == CardState.ACTIVE and card.account == account
    assert (account.first_name, account.birth_date) == ("Анна", date(1990, 6, 15))
    assert account.user.phone == SENDER and not account.user.has_usable_password()
    assert account.profile.channel == "sms"
    assert set(Consent.objects.filter(account=account).values_list("kind", "channel")) == {
        ("personal_data", "sms"),
        ("rules", "sms"),
    }
    reply = f"Карта *{card.number[-4:]} активирована. Пароль задайте: «Забыли пароль» на сайте."
    assert sms_to(SENDER) == [reply] and result.reply == reply


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        (
            "привет",
            "Карта не активирована. Не найден номер карты. Отправьте: номер карты, имя, "
            "дату рождения, например 2770123456789012 Анна 15.06.1990",
        ),
        (
            "{card} Анна Петрова 15.06.1990",
            "Карта не активирована. Укажите только имя, без фамилии",
        ),
        (
            "{card} Анна 31.02.1990",
            "Карта не активирована. Такой даты нет: 31.02.1990. Напишите дату как ДД.ММ.ГГГГ",
        ),
    ],
)
def test_a_bad_text_gets_a_reply_saying_what_is_wrong(text, reply):
    card = issued_card()

    result = activate(text.format(card=card.number))

    assert result.outcome == "rejected" and sms_to(SENDER) == [reply]
    card.refresh_from_db()
    assert card.state == CardState.ISSUED and not User.objects.exists()


def test_unknown_active_and_blocked_cards_and_a_taken_phone_are_answered():
    from kabinet.loyalty import cardnumbers
    from kabinet.loyalty.services import cards as card_services

    active = issued_card()
    register("+79160000001", card=active)
    blocked = issued_card()
    card_services.block_card(card=blocked, reason="утеряна")
    unknown = cardnumbers.complete_card_number("277000000000000")
    free = issued_card()
    UserFactory(phone="+79160000002")

    outcomes = [
        activate(f"{unknown} Анна 15.06.1990", "a").code,
        activate(f"{active.number} Анна 15.06.1990", "b").code,
        activate(f"{blocked.number} Анна 15.06.1990", "c").code,
        activate(f"{free.number} Анна 15.06.1990", "d", sender="+79160000002").code,
    ]

    assert outcomes == ["card_not_found", "card_already_active", "card_blocked", "phone_taken"]
    assert sms_to(SENDER)[-3:] == [
        "Карта не активирована. Карта с таким номером не найдена",
        "Карта не активирована. Карта уже зарегистрирована",
        "Карта не активирована. Карта заблокирована",
    ]
    assert sms_to("+79160000002") == [
        "Карта не активирована. Этот номер уже привязан к другой карте. Войдите в личный кабинет"
    ]
    free.refresh_from_db()
    assert free.state == CardState.ISSUED


def test_the_same_message_id_is_answered_once():
    card = issued_card()
    first = activate(f"{card.number} Анна 15.06.1990", "same")
    second = activate(f"{card.number} Анна 15.06.1990", "same")

    assert (first.outcome, second.outcome) == ("activated", "activated")
    assert (first.replayed, second.replayed) == (False, True)
    assert first.to_body() == second.to_body()
    assert Account.objects.count() == 1 and len(sms_to(SENDER)) == 1
    assert InboundSms.objects.count() == 1


def test_a_sender_that_keeps_trying_is_stopped_silently():
    for i in range(10):
        activate("привет", f"try-{i}")
    result = activate("привет", "try-10")

    assert (result.outcome, result.code, result.reply) == ("rejected", "rate_limited", "")
    assert len(sms_to(SENDER)) == 10


def test_a_sender_without_a_phone_number_gets_no_reply():
    result = activate("1234", sender="MAGNIT")
    assert (result.code, result.reply) == ("sender_invalid", "")
    assert not Message.objects.exists()


# --- POST /api/sms/v1/inbound --------------------------------------------------------------------


def post(client, payload, *, sign=True, header=None):
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {}
    if header is not None:
        headers["X-Signature"] = header
    elif sign:
        headers["X-Signature"] = signature(body, settings.SMS_INBOUND_SECRET)
    return client.post(URL, body, content_type="application/json", headers=headers)


def payload(card, message_id="agg-1"):
    return {
        "message_id": message_id,
        "from": SENDER,
        "to": "9002",
        "text": f"{card.number} Анна 15.06.1990",
    }


def test_the_webhook_activates_with_a_valid_signature(client):
    card = issued_card()

    response = post(client, payload(card))

    assert response.status_code == 200
    body = response.json()
    assert body["message_id"] == "agg-1" and body["status"] == "activated"
    assert body["code"] == "activated" and body["replayed"] is False
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE


def test_a_missing_signature_is_401_and_a_wrong_one_403(client):
    card = issued_card()

    missing = post(client, payload(card), sign=False)
    wrong = post(client, payload(card), header="sha256=" + "0" * 64)
    other_secret = post(
        client,
        payload(card),
        header=signature(json.dumps(payload(card), ensure_ascii=False).encode(), "guess"),
    )

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "signature_required"
    assert wrong.status_code == 403 and other_secret.status_code == 403
    assert wrong.json()["error"]["code"] == "signature_invalid"
    card.refresh_from_db()
    assert card.state == CardState.ISSUED and not InboundSms.objects.exists()


def test_a_signature_of_another_body_is_refused(client):
    card = issued_card()
    signed = json.dumps(payload(card, "x")).encode()

    response = client.post(
        URL,
        json.dumps(payload(card, "y")).encode(),
        content_type="application/json",
        headers={"X-Signature": signature(signed, settings.SMS_INBOUND_SECRET)},
    )

    assert response.status_code == 403


def test_a_replayed_message_id_gets_the_same_result_and_no_second_activation(client):
    card = issued_card()

    first = post(client, payload(card))
    second = post(client, payload(card))

    assert first.status_code == second.status_code == 200
    assert {**first.json(), "replayed": True} == second.json()
    assert Account.objects.count() == 1 and len(sms_to(SENDER)) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"from": SENDER, "text": "x"},
        {"message_id": "m", "text": "x"},
        {"message_id": "m", "from": SENDER},
    ],
)
def test_missing_fields_are_422(client, bad):
    response = post(client, bad)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_not_json_is_422(client):
    body = b"not json"
    response = client.post(
        URL,
        body,
        content_type="application/json",
        headers={"X-Signature": signature(body, settings.SMS_INBOUND_SECRET)},
    )
    assert response.status_code == 422


def test_without_a_configured_secret_nothing_is_accepted(client, settings):
    settings.SMS_INBOUND_SECRET = ""
    response = post(client, payload(issued_card()), header="sha256=anything")
    assert response.status_code == 503


def test_only_post(client):
    assert client.get(URL).status_code == 405


# --- Kannel get-url -----------------------------------------------------------------------------


def kannel_url(text: str, *, key: str | None = None, message_id: str = "k-1", charset="UTF-8"):
    key = settings.SMS_INBOUND_SECRET if key is None else key
    return (
        f"/api/sms/v1/kannel?key={quote(key)}&from={quote(SENDER)}&to=9002"
        f"&text={text}&charset={charset}&id={message_id}"
    )


def test_kannel_get_url_activates(client):
    card = issued_card()

    response = client.get(kannel_url(quote(f"{card.number} Анна 15.06.1990")))

    assert response.status_code == 200 and response.content == b"activated"
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE


def test_kannel_text_in_utf16(client):
    card = issued_card()
    text = quote(f"{card.number} Анна 15.06.1990".encode("utf-16-be"))

    response = client.get(kannel_url(text, charset="UTF-16BE"))

    assert response.content == b"activated"


def test_kannel_needs_the_shared_key(client):
    card = issued_card()
    text = quote(f"{card.number} Анна 15.06.1990")

    assert client.get(kannel_url(text, key="")).status_code == 403
    assert client.get(kannel_url(text, key="wrong")).status_code == 403
    card.refresh_from_db()
    assert card.state == CardState.ISSUED


def test_kannel_redelivery_is_idempotent(client):
    card = issued_card()
    url = kannel_url(quote(f"{card.number} Анна 15.06.1990"))

    assert client.get(url).content == b"activated"
    assert client.get(url).content == b"activated"
    assert Account.objects.count() == 1 and len(sms_to(SENDER)) == 1


def test_a_text_that_cannot_be_read_is_answered_200_rejected(client):
    response = post(client, {"message_id": "r-1", "from": SENDER, "to": "9002", "text": "привет"})

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["code"] == "card_missing"
    assert response.json()["reply"].startswith("Карта не активирована. Не найден номер карты.")


def test_kannel_without_a_message_id_is_400(client):
    url = kannel_url(quote("1234"), message_id="")
    assert client.get(url).status_code == 400
    assert not InboundSms.objects.exists()
