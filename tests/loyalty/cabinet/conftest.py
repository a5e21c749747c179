"""Cabinet personas: Anna and Boris share a household (two members, two phones), Sergey is
a stranger. Everything is built through the services; the clock stands at 20 May 2026."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from kabinet.geo.models import City
from kabinet.loyalty.models import Account, Card, CardState, Purchase, Store
from kabinet.loyalty.services.purchases import LineInput, ReceiptInput, commit_purchase
from kabinet.loyalty.services.returns import ReturnLineInput, return_purchase
from tests.accounts.conftest import clock  # noqa: F401 - fixture
from tests.loyalty import factories
from tests.loyalty.members.conftest import PASSWORD, register

ANNA_PHONE = "+79161234567"
BORIS_PHONE = "+79161234568"
SERGEY_PHONE = "+79035550000"
TODAY_AT = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)


def city(search_name: str) -> City:
    return City.objects.select_related("region").get(search_name=search_name)


@dataclass
class Person:
    account: Account
    client: Client

    @property
    def card(self) -> Card:
        return Card.objects.get(account=self.account, state=CardState.ACTIVE)

    @property
    def user(self):
        return self.account.user


def _signed_in(account: Account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def buy(till, card, at, *amounts, number, redeem=0, skus=None):
    names = skus or tuple(f"SKU-{i + 1}" for i in range(len(amounts)))
    receipt = ReceiptInput(
        number=number,
        purchased_at=at,
        lines=tuple(
            LineInput(
                sku=sku, name=f"Товар {sku}", quantity=Decimal(1), price_kopecks=a, amount_kopecks=a
            )
            for sku, a in zip(names, amounts, strict=True)
        ),
        total_kopecks=sum(amounts),
    )
    commit_purchase(
        terminal=till,
        card=card,
        receipt=receipt,
        redeem=redeem,
        idempotency_key=f"key-{number}",
        now=at + timedelta(minutes=1),
    )
    return Purchase.objects.get(terminal=till, receipt_number=number)


@dataclass
class World:
    anna: Person
    boris: Person
    sergey: Person
    store: Store
    till: object
    p_march: Purchase
    p_april: Purchase
    p_may: Purchase
    p_boris: Purchase


@pytest.fixture
def world(clock):  # noqa: F811 - the imported fixture
    factories.demo_levels()
    moscow = city("москва")
    anna = register(ANNA_PHONE, city=moscow)
    boris = register(BORIS_PHONE, first_name="Борис", email="boris@example.ru", city=moscow)
    sergey = register(SERGEY_PHONE, first_name="Сергей", email="sergey@example.ru")
    store = factories.StoreFactory(
        name="Магнит у дома",
        address="ул. Тверская, 1",
        city=moscow,
        region=moscow.region,
        lat=Decimal("55.757000"),
        lon=Decimal("37.615000"),
    )
    till, _token = factories.terminal(store)
    anna_card = Card.objects.get(account=anna, state=CardState.ACTIVE)
    boris_card = Card.objects.get(account=boris, state=CardState.ACTIVE)
    p_march = buy(
        till, anna_card, datetime(2026, 3, 10, 12, 0, tzinfo=UTC), 60000, 40000, number="A-1"
    )
    p_april = buy(till, anna_card, datetime(2026, 4, 15, 10, 0, tzinfo=UTC), 200000, number="A-2")
    return_purchase(
        terminal=till,
        purchase=p_april,
        lines=[ReturnLineInput(sku="SKU-1", amount_kopecks=50000)],
        idempotency_key="ret-A-2",
        now=datetime(2026, 4, 16, 10, 0, tzinfo=UTC),
    )
    p_may = buy(
        till, anna_card, datetime(2026, 5, 5, 10, 0, tzinfo=UTC), 50000, number="A-3", redeem=500
    )
    p_boris = buy(till, boris_card, datetime(2026, 5, 6, 10, 0, tzinfo=UTC), 300000, number="B-1")
    clock.now = TODAY_AT
    return World(
        anna=Person(Account.objects.get(pk=anna.pk), _signed_in(anna)),
        boris=Person(Account.objects.get(pk=boris.pk), _signed_in(boris)),
        sergey=Person(Account.objects.get(pk=sergey.pk), _signed_in(sergey)),
        store=store,
        till=till,
        p_march=p_march,
        p_april=p_april,
        p_may=p_may,
        p_boris=p_boris,
    )


__all__ = ["PASSWORD", "world"]
