"""Personas for the pharma tests: two users of one pharmacy and one of another (ARCHITECTURE)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from django.test import Client

from kabinet.accounts.models import User
from kabinet.geo.models import City
from kabinet.notifications.models import Message
from kabinet.pharma.models import (
    Authority,
    DeliveryAddress,
    Organisation,
    OrganisationStatus,
    PartnerUser,
)

PASSWORD = "Trudno-ugadat-2026"


def emails_to(address: str) -> list[Message]:
    return list(Message.objects.filter(channel="email", to=address).order_by("id"))


def link_from(body: str) -> str:
    urls = re.findall(r"https?://\S+", body)
    assert len(urls) == 1, body
    return urls[0]


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def moscow(db) -> City:
    return City.objects.get(region__code="77", name_ru="Москва")


@pytest.fixture
def kazan(db) -> City:
    return City.objects.get(region__code="16", name_ru="Казань")


@dataclass
class Pharmacy:
    organisation: Organisation
    admin: PartnerUser
    colleague: PartnerUser | None
    address: DeliveryAddress


def _partner(org: Organisation, username: str, authorities: list[str]) -> PartnerUser:
    user = User.objects.create_user(
        username=username, email=f"{username}@example.ru", password=PASSWORD
    )
    return PartnerUser.objects.create(
        user=user, organisation=org, full_name=username.title(), authorities=authorities
    )


@pytest.fixture
def pharmacy(moscow) -> Pharmacy:
    """«Здоровье»: an administrator with every authority and a colleague who may only look."""
    org = Organisation.objects.create(
        name="ООО «Здоровье»",
        inn="7707083893",
        kpp="773601001",
        ogrn="1027700132195",
        status=OrganisationStatus.ACTIVE,
        contract_number="ФД-1",
        contract_date=date(2026, 1, 15),
    )
    admin = _partner(org, "zdorovie-admin", list(Authority.values))
    colleague = _partner(org, "zdorovie-staff", [Authority.CATALOG])
    address = DeliveryAddress.objects.create(
        organisation=org, name="Аптека №1", city=moscow, address="ул. Тверская, д. 1"
    )
    return Pharmacy(org, admin, colleague, address)


@pytest.fixture
def other_pharmacy(kazan) -> Pharmacy:
    """«Вита» in Kazan: another organisation whose data must never leak."""
    org = Organisation.objects.create(
        name="ООО «Вита»",
        inn="7736207543",
        kpp="770401001",
        ogrn="1027700229193",
        status=OrganisationStatus.ACTIVE,
        contract_number="ФД-2",
        contract_date=date(2026, 1, 20),
    )
    admin = _partner(org, "vita-admin", list(Authority.values))
    address = DeliveryAddress.objects.create(
        organisation=org, name="Вита на Баумана", city=kazan, address="ул. Баумана, д. 2"
    )
    return Pharmacy(org, admin, None, address)


def client_for(partner: PartnerUser) -> Client:
    client = Client()
    client.force_login(partner.user)
    return client


@pytest.fixture
def manager(db) -> User:
    return User.objects.create_user(
        username="manager",
        email="manager@mpharma.ru",
        password=PASSWORD,
        is_staff=True,
        is_superuser=True,
    )
