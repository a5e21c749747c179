"""The console: search, activation for a caller with the SMS code, resend, block, replace."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from kabinet.core.models import AuditEntry
from kabinet.loyalty.cardnumbers import format_card_number
from kabinet.loyalty.models import Account, ActivationChannel, Card, CardState
from kabinet.notifications.models import Message
from tests.accounts.helpers import last_code, other_code, sms_to
from tests.loyalty.factories import member
from tests.loyalty.members.conftest import issued_card

pytestmark = pytest.mark.django_db

PHONE = "+79161234567"


def caller(card: Card, **overrides) -> dict[str, str]:
    data = {
        "card_number": format_card_number(card.number),
        "first_name": "Анна",
        "birth_date": "1990-06-15",
        "phone": "8 (916) 123-45-67",
        "consents": "on",
    }
    data.update(overrides)
    return data


def with_phone(phone: str = PHONE) -> Account:
    account, _card = member()
    account.user.phone = phone
    account.user.save(update_fields=["phone"])
    return account


# --- search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["9161234567", "89161234567", "+7 (916) 123-45-67", "7916123 45 67"]
)
def test_search_by_phone_in_any_form(as_operator, typed):
    account = with_phone()
    response = as_operator.get(reverse("callcentre:search"), {"q": typed})
    assert response.status_code == 302
    assert response["Location"] == reverse("callcentre:member", args=[account.pk])


def test_search_by_card_number_with_spaces(as_operator):
    account, card = member()
    response = as_operator.get(reverse("callcentre:search"), {"q": format_card_number(card.number)})
    assert response["Location"] == reverse("callcentre:member", args=[account.pk])


def test_search_refuses_a_card_number_with_a_wrong_check_digit(as_operator):
    _account, card = member()
    wrong = card.number[:-1] + str((int(card.number[-1]) + 1) % 10)
    response = as_operator.get(reverse("callcentre:search"), {"q": wrong})
    assert response.status_code == 200
    assert "В номере карты ошибка: проверьте цифры" in response.content.decode()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("9169999999", "Участник с таким телефоном не найден"),
        ("abc", "Введите телефон (например 9161234567) или 16 цифр номера карты"),
    ],
)
def test_search_says_what_was_not_found(as_operator, typed, message):
    with_phone()
    response = as_operator.get(reverse("callcentre:search"), {"q": typed})
    assert message in response.content.decode()


def test_search_for_an_issued_card_offers_activation(as_operator):
    card = issued_card()
    page = as_operator.get(reverse("callcentre:search"), {"q": card.number}).content.decode()
    assert "выпущена" in page
    assert f"{reverse('callcentre:activate')}?card={card.number}" in page


# --- activation for a caller -------------------------------------------------------------------


def test_operator_activates_a_card_with_the_code_the_caller_reads_out(as_operator, operator, clock):
    card = issued_card()
    response = as_operator.post(reverse("callcentre:activate"), caller(card))
    assert response.status_code == 302
    assert response["Location"] == reverse("callcentre:activate-code")
    code_page = as_operator.get(reverse("callcentre:activate-code")).content.decode()
    assert "+7 916 ***-**-67" in code_page
    assert not Account.objects.exists()  # nothing about the member exists before the code

    response = as_operator.post(reverse("callcentre:activate-code"), {"code": last_code(PHONE)})
    account = Account.objects.get(user__phone=PHONE)
    assert response["Location"] == reverse("callcentre:member", args=[account.pk])
    card.refresh_from_db()
    assert (card.state, card.account_id) == (CardState.ACTIVE, account.pk)
    assert account.first_name == "Анна" and account.birth_date == date(1990, 6, 15)
    assert account.profile.channel == ActivationChannel.CALL_CENTRE
    assert not account.user.has_usable_password()
    assert {c.kind for c in account.consents.all()} == {"personal_data", "rules"}

    started = AuditEntry.objects.get(action="callcentre.activation.start")
    assert (started.actor, started.object_id) == (operator, str(card.pk))
    registered = AuditEntry.objects.get(action="loyalty.member.register")
    assert registered.actor == operator
    assert registered.data["channel"] == "call_centre"


def test_wrong_code_activates_nothing(as_operator, clock):
    card = issued_card()
    as_operator.post(reverse("callcentre:activate"), caller(card))
    response = as_operator.post(
        reverse("callcentre:activate-code"), {"code": other_code(last_code(PHONE))}
    )
    assert "Неверный код. Осталось попыток: 4" in response.content.decode()
    card.refresh_from_db()
    assert card.state == CardState.ISSUED
    assert not Account.objects.filter(user__phone=PHONE).exists()


def test_activation_form_shows_every_refused_field(as_operator, clock):
    with_phone()
    blocked = issued_card()
    blocked.state = CardState.BLOCKED
    blocked.save()
    response = as_operator.post(
        reverse("callcentre:activate"),
        caller(blocked, first_name="Анна Петрова", consents=""),
    )
    page = response.content.decode()
    assert "Карта заблокирована: её нельзя зарегистрировать" in page
    assert "Укажите только имя, без фамилии" in page
    assert "уже привязан к другой карте" in page
    assert "Без согласия на обработку персональных данных зарегистрироваться нельзя" in page
    assert sms_to(PHONE) == []


def test_resend_waits_for_the_cool_down_then_sends_a_new_code(as_operator, operator, clock):
    card = issued_card()
    as_operator.post(reverse("callcentre:activate"), caller(card))
    first = last_code(PHONE)

    response = as_operator.post(reverse("callcentre:activate-resend"), follow=True)
    assert "Повторно отправить код можно через 60 с" in response.content.decode()
    assert len(sms_to(PHONE)) == 1

    clock.advance(seconds=61)
    as_operator.post(reverse("callcentre:activate-resend"))
    assert len(sms_to(PHONE)) == 2
    resent = AuditEntry.objects.get(action="callcentre.code.resend")
    assert resent.actor == operator

    response = as_operator.post(reverse("callcentre:activate-code"), {"code": first})
    assert response.status_code == 200  # the old code no longer works
    as_operator.post(reverse("callcentre:activate-code"), {"code": last_code(PHONE)})
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE


def test_code_page_without_a_started_activation_goes_back(as_operator):
    response = as_operator.get(reverse("callcentre:activate-code"))
    assert response["Location"] == reverse("callcentre:activate")


# --- block and replace -------------------------------------------------------------------------


def test_operator_blocks_a_card_with_a_reason(as_operator, operator):
    account, card = member()
    response = as_operator.post(
        reverse("callcentre:block", args=[card.pk]), {"reason": "клиент потерял карту"}
    )
    assert response["Location"] == reverse("callcentre:member", args=[account.pk])
    card.refresh_from_db()
    assert (card.state, card.block_reason) == (CardState.BLOCKED, "клиент потерял карту")
    entry = AuditEntry.objects.get(action="loyalty.card.block")
    assert (entry.actor, entry.object_id, entry.reason) == (
        operator,
        str(card.pk),
        "клиент потерял карту",
    )


def test_block_without_a_reason_changes_nothing(as_operator):
    _account, card = member()
    as_operator.post(reverse("callcentre:block", args=[card.pk]), {"reason": " "})
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE
    assert not AuditEntry.objects.filter(action="loyalty.card.block").exists()


def test_operator_replaces_a_card_with_a_new_plastic_one(as_operator, operator):
    account, old = member()
    new = issued_card()
    response = as_operator.post(
        reverse("callcentre:replace", args=[old.pk]),
        {"new_number": format_card_number(new.number), "reason": "карта сломалась"},
        follow=True,
    )
    assert "Карта заменена" in response.content.decode()
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, old.replaced_by_id) == (CardState.BLOCKED, new.pk)
    assert (new.state, new.account_id) == (CardState.ACTIVE, account.pk)
    entry = AuditEntry.objects.get(action="callcentre.card.replace")
    assert (entry.actor, entry.reason, entry.data["new"]) == (
        operator,
        "карта сломалась",
        new.number,
    )
    assert AuditEntry.objects.get(action="loyalty.card.replace").actor == operator


@pytest.mark.parametrize("state", [CardState.ACTIVE, CardState.BLOCKED])
def test_replacing_with_a_card_that_is_not_new_changes_nothing(as_operator, state):
    _account, old = member()
    _other, taken = member()
    if state == CardState.BLOCKED:
        taken.state = CardState.BLOCKED
        taken.save()
    before = list(Card.objects.order_by("pk").values_list("pk", "state", "account_id"))
    response = as_operator.post(
        reverse("callcentre:replace", args=[old.pk]),
        {"new_number": taken.number, "reason": "карта сломалась"},
        follow=True,
    )
    assert "message-error" in response.content.decode()
    assert list(Card.objects.order_by("pk").values_list("pk", "state", "account_id")) == before
    assert not AuditEntry.objects.filter(action__endswith="card.replace").exists()


def test_replacing_with_a_mistyped_number_says_so(as_operator):
    _account, old = member()
    response = as_operator.post(
        reverse("callcentre:replace", args=[old.pk]),
        {"new_number": "1234 5678 9012 3456", "reason": "сломалась"},
        follow=True,
    )
    assert "В номере карты ошибка: проверьте цифры" in response.content.decode()
    old.refresh_from_db()
    assert old.state == CardState.ACTIVE


def test_messages_go_to_the_outbox_only(as_operator, clock):
    card = issued_card()
    as_operator.post(reverse("callcentre:activate"), caller(card))
    (message,) = Message.objects.filter(to=PHONE)
    assert message.channel == "sms"
