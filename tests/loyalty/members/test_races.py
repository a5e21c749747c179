"""Real races on PostgreSQL: threads, each with its own connection (L-ACT-5)."""

from __future__ import annotations

import pytest

from kabinet.accounts.models import Challenge
from kabinet.core.errors import DomainError
from kabinet.loyalty.models import Account, CardState, InboundSms
from kabinet.loyalty.services import registration
from tests.accounts.helpers import last_code, sms_to
from tests.loyalty.members.conftest import IP, issued_card, start
from tests.loyalty.test_races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def confirm(challenge, phone):
    code = last_code(phone)
    return lambda: registration.confirm_registration(
        challenge_id=challenge.pk, code=code, client_ip=IP
    )


@pytest.mark.parametrize("attempt", range(3))
def test_two_confirmations_for_one_card_make_one_account(attempt):
    card = issued_card()
    a = start(card_number=card.number, phone="+79161110001")
    b = start(card_number=card.number, phone="+79161110002")

    results = race(confirm(a, "+79161110001"), confirm(b, "+79161110002"))

    accounts = [r for r in results if isinstance(r, Account)]
    failures = [r for r in results if isinstance(r, DomainError)]
    assert len(accounts) == 1 and len(failures) == 1
    assert failures[0].code == "card_already_active"
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE and card.account_id == accounts[0].pk
    assert Account.objects.count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_two_registrations_of_one_phone_make_one_member(attempt):
    phone = "+79161110003"
    first = start(card_number=issued_card().number, phone=phone)
    first_code = last_code(phone)
    # The second registration of the same phone, started before the first was confirmed
    # (the cool-down would refuse it within a minute, so it is back-dated).
    Challenge.objects.filter(pk=first.pk).update(sent_at=first.sent_at.replace(year=2000))
    second = start(card_number=issued_card().number, phone=phone)
    second_code = last_code(phone)

    results = race(
        lambda: registration.confirm_registration(
            challenge_id=first.pk, code=first_code, client_ip=IP
        ),
        lambda: registration.confirm_registration(
            challenge_id=second.pk, code=second_code, client_ip=IP
        ),
    )

    failures = [r for r in results if isinstance(r, DomainError)]
    assert len(failures) == 1 and failures[0].code == "phone_taken"
    assert Account.objects.count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_one_sms_delivered_twice_at_once_activates_once(attempt):
    card = issued_card()

    def deliver():
        return registration.activate_by_sms(
            sender_phone="+79161110004",
            text=f"{card.number} Анна 15.06.1990",
            message_id="dup",
            source="http",
        )

    first, second = race(deliver, deliver)

    assert first.to_body() == second.to_body() and first.outcome == "activated"
    assert sorted([first.replayed, second.replayed]) == [False, True]
    assert Account.objects.count() == 1 and InboundSms.objects.count() == 1
    assert len(sms_to("+79161110004")) == 1
