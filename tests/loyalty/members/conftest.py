"""Member tests: a frozen clock, valid registration data, codes read back from the outbox."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from kabinet.geo.models import City
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services import registration
from tests.accounts.conftest import (
    Clock,  # noqa: F401 - the clock fixture's class
    clock,  # noqa: F401 - fixture
)
from tests.accounts.helpers import last_code

PHONE = "+79161234567"
PASSWORD = "Magnit2026ok"
IP = "203.0.113.7"


def issued_card():
    """A new plastic card in state issued (its own batch: the tests' clock stands still)."""
    (card,) = card_services.issue_cards(count=1, batch_name=f"test-{uuid.uuid4().hex}")
    return card


def moscow() -> City:
    return City.objects.select_related("region").get(search_name="москва")


def start(**overrides):
    """start_registration with valid data; keyword arguments replace any of it."""
    values = {
        "card_number": None,
        "first_name": "Анна",
        "birth_date": date(1990, 6, 15),
        "email": "anna@example.ru",
        "password": PASSWORD,
        "phone": PHONE,
        "city": None,
        "consents": {"personal_data", "rules"},
        "marketing": registration.Marketing(sms=True),
        "channel": "web",
        "client_ip": IP,
    }
    values.update(overrides)
    return registration.start_registration(**values)


def register(phone: str = PHONE, *, card=None, birth_date=date(1990, 6, 15), **overrides):
    """A member registered through both steps; returns the account."""
    card = card if card is not None else issued_card()
    challenge = start(card_number=card.number, phone=phone, birth_date=birth_date, **overrides)
    return registration.confirm_registration(
        challenge_id=challenge.pk, code=last_code(phone), client_ip=IP
    )


@pytest.fixture
def member(clock):  # noqa: F811 - the imported fixture
    return register()
