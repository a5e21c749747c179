"""`kabinet pos …`: terminal credentials and store codes (L-POS-3)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from kabinet.loyalty.models import Terminal
from kabinet.loyalty.services.terminals import hash_token
from tests.loyalty.factories import StoreFactory, member, region

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("pos", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_a_token_once_that_works_until_revoked():
    store = StoreFactory(code="M-001")
    _, card = member()

    out, err = run("terminal", "create", "--store", "M-001", "--name", "Касса 3")

    token = out.strip()
    terminal = Terminal.objects.get()
    assert (terminal.store, terminal.name) == (store, "Касса 3")
    assert terminal.token_hash == hash_token(token) and token not in terminal.token_hash
    assert f"terminal {terminal.pk}" in err
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(f"/api/pos/v1/cards/{card.number}", **auth).status_code == 200

    out, _ = run("terminal", "revoke", str(terminal.pk))
    again, _ = run("terminal", "revoke", str(terminal.pk))

    assert "revoked" in out and "already revoked" in again
    assert client.get(f"/api/pos/v1/cards/{card.number}", **auth).status_code == 401


def test_create_for_an_unknown_store_fails_and_creates_nothing():
    with pytest.raises(CommandError, match="no store"):
        run("terminal", "create", "--store", "NOPE", "--name", "Касса 1")
    assert Terminal.objects.count() == 0


def test_revoking_an_unknown_terminal_fails():
    with pytest.raises(CommandError, match="no terminal"):
        run("terminal", "revoke", "404")


def test_stores_lists_codes_optionally_by_region():
    StoreFactory(code="A-1", name="Первый", region=region("77"))
    StoreFactory(code="B-2", name="Второй", region=region("39", active=False))

    everything, _ = run("stores")
    kaliningrad, _ = run("stores", "--region", "39")

    assert everything.splitlines() == ["A-1\t77\tyes\tПервый", "B-2\t39\tno\tВторой"]
    assert kaliningrad.splitlines() == ["B-2\t39\tno\tВторой"]
