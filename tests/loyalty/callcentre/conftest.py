"""Call-centre and back-office tests: one staff member per role, signed-in clients."""

from __future__ import annotations

import pytest
from django.test import Client

from kabinet.loyalty.callcentre import roles
from tests.accounts.conftest import (
    Clock,  # noqa: F401 - the clock fixture's class
    clock,  # noqa: F401 - fixture
)
from tests.loyalty.factories import LevelFactory, StaffFactory, UserFactory


def staff(group: str | None, username: str):
    user = StaffFactory(username=username)
    if group is not None:
        roles.grant(user, group)
    return user


@pytest.fixture(autouse=True)
def _first_level(db):
    LevelFactory(name="Базовый", threshold_kopecks=0, rate_bp=50)


@pytest.fixture
def operator(db):
    return staff(roles.OPERATOR_GROUP, "op1")


@pytest.fixture
def support_agent(db):
    return staff(roles.SUPPORT_GROUP, "sup1")


@pytest.fixture
def supervisor(db):
    return staff(roles.SUPERVISOR_GROUP, "boss1")


@pytest.fixture
def supervisor2(db):
    return staff(roles.SUPERVISOR_GROUP, "boss2")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_operator(operator):
    return signed_in(operator)


@pytest.fixture
def as_support(support_agent):
    return signed_in(support_agent)


@pytest.fixture
def as_supervisor(supervisor):
    return signed_in(supervisor)


@pytest.fixture
def as_supervisor2(supervisor2):
    return signed_in(supervisor2)


@pytest.fixture
def as_member(db):
    return signed_in(UserFactory())


@pytest.fixture
def as_plain_staff(db):
    return signed_in(staff(None, "clerk"))
