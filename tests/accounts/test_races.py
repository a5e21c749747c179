"""Two right answers to one code at the same moment: exactly one is accepted (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from kabinet.accounts import codes
from kabinet.accounts.codes import CodeAlreadyUsed, issue_code, verify_code
from kabinet.accounts.models import Challenge
from tests.accounts.helpers import last_code

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def test_two_concurrent_right_answers_confirm_exactly_once(monkeypatch):
    challenge = issue_code(purpose="login", phone="+79161234567", client_ip="203.0.113.7")
    code = last_code("+79161234567")

    # Hold each check open for a while: without the row lock both threads would read the
    # challenge as unused before either marked it, and both would succeed.
    real_match = codes._code_matches
    entered = threading.Barrier(2)

    def slow_match(ch, typed):
        result = real_match(ch, typed)
        threading.Event().wait(0.3)
        return result

    monkeypatch.setattr(codes, "_code_matches", slow_match)

    outcomes = []

    def submit(ip):
        from django.db import connections

        try:
            entered.wait(timeout=5)
            verify_code(challenge_id=challenge.id, code=code, purpose="login", client_ip=ip)
            outcomes.append("ok")
        except CodeAlreadyUsed:
            outcomes.append("used")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=submit, args=(ip,)) for ip in ("198.51.100.1", "198.51.100.2")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)

    assert sorted(outcomes) == ["ok", "used"]
    row = Challenge.objects.get(pk=challenge.pk)
    assert row.used_at is not None
    assert row.attempts == 0
