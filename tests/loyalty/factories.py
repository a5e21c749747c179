"""Loyalty test data, built through the services wherever a service exists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from kabinet.geo.models import Region
from kabinet.loyalty.models import Account, Card, Level, Store, Terminal
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services import terminals as terminal_services
from kabinet.loyalty.services.purchases import LineInput, ReceiptInput

#: The tests' "now": every service call passes it, so dates never depend on the clock.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
#: Activated long enough ago that the first-month doubling (L-EARN-2) is over.
LONG_AGO = NOW - timedelta(days=90)


def region(code: str = "77", *, active: bool = True, tz: str = "Europe/Moscow") -> Region:
    """A region (the geography is loaded by a migration; create it if this one is not)."""
    found, _ = Region.objects.get_or_create(
        code=code,
        defaults={
            "name_ru": f"Регион {code}",
            "name_en": f"Region {code}",
            "federal_district": "Центральный",
            "capital_ru": "Город",
            "timezone": tz,
        },
    )
    if found.loyalty_active != active:
        found.loyalty_active = active
        found.save(update_fields=["loyalty_active"])
    return found


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"member{n}")
    phone = factory.Sequence(lambda n: f"+7900{n:07d}")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    phone = None
    is_staff = True


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"S{n:05d}")
    name = factory.Sequence(lambda n: f"Магазин №{n}")
    address = "ул. Ленина, 1"
    region = factory.LazyFunction(region)
    timezone = "Europe/Moscow"
    participates = True


class LevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Level
        django_get_or_create = ("threshold_kopecks",)

    name = factory.Sequence(lambda n: f"Уровень {n}")
    threshold_kopecks = 0
    rate_bp = 50


def demo_levels() -> list[Level]:
    """SPEC L-EARN-8's demo levels: 0.5 % from 0, 1 % from 10 000, 1.5 % from 20 000 RUB."""
    return [
        LevelFactory(name="Базовый", threshold_kopecks=0, rate_bp=50),
        LevelFactory(name="Серебряный", threshold_kopecks=1_000_000, rate_bp=100),
        LevelFactory(name="Золотой", threshold_kopecks=2_000_000, rate_bp=150),
    ]


def terminal(store: Store | None = None) -> tuple[Terminal, str]:
    """A terminal and its raw token, authenticated back as a till would be."""
    created, token = terminal_services.create_terminal(
        store=store or StoreFactory(), name="Касса 1"
    )
    found = terminal_services.authenticate_terminal(token)
    assert found is not None and found.pk == created.pk
    return found, token


def issued_card() -> Card:
    (card,) = card_services.issue_cards(count=1, batch_name=None)
    return card


def member(
    *,
    first_name: str = "Анна",
    birth_date: date | None = date(1990, 6, 15),
    activated_at: datetime = LONG_AGO,
) -> tuple[Account, Card]:
    """A member with an active plastic card, activated through the service."""
    card = issued_card()
    account = card_services.activate_card(
        card=card, user=UserFactory(), first_name=first_name, birth_date=birth_date, at=activated_at
    )
    return account, fresh_card(card)


def fresh_card(card: Card) -> Card:
    """The card as a till's lookup loads it (account and level joined)."""
    return Card.objects.select_related("account__level").get(pk=card.pk)


def receipt(
    *amounts_kopecks: int,
    number: str = "R-1",
    at: datetime = NOW - timedelta(minutes=5),
    skus: tuple[str, ...] | None = None,
) -> ReceiptInput:
    """A receipt with one line per amount (skus default to SKU-1, SKU-2, ...)."""
    amounts = amounts_kopecks or (100_000,)
    names = skus or tuple(f"SKU-{i + 1}" for i in range(len(amounts)))
    return ReceiptInput(
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


def give_points(account: Account, amount: int) -> None:
    """Credit points the way support does (an audited adjustment)."""
    from kabinet.loyalty.services.ledger import adjust_points

    adjust_points(account=account, amount=amount, reason="стартовые баллы", actor=StaffFactory())
