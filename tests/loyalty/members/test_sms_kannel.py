"""L-ACT-4 end to end: a phone texts 9002, a real Kannel calls our get-url, the reply goes back.

fakesmsc plays the operator: it hands the MO message to bearerbox, smsbox calls the app (the
live test server) with Kannel's get-url, the app activates the card and queues the reply,
the delivery job sends it through Kannel's sendsms, and fakesmsc receives it.
"""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from kabinet.loyalty.models import CardState, InboundSms
from kabinet.notifications.testing import run_pending_jobs
from tests.loyalty.members.conftest import issued_card
from tests.notifications.kannel_harness import kannel_factory_fixture  # noqa: F401 - fixture

SENDER = "+79161234567"


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = condition()
        except OperationalError:
            # SQLite's shared in-memory test database locks a table while the live server
            # thread writes it; look again.
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.kannel
@pytest.mark.django_db(transaction=True)
def test_an_sms_to_9002_through_kannel_activates_the_card_and_is_answered(
    kannel_factory, live_server, settings
):
    card = issued_card()
    get_url = (
        f"{live_server.url}/api/sms/v1/kannel?key={settings.SMS_INBOUND_SECRET}"
        "&from=%p&to=%P&text=%b&charset=%C&id=%I"
    )
    kannel = kannel_factory(sms_service_url=get_url)
    settings.KABINET_NOTIFY = {
        **settings.KABINET_NOTIFY,
        **kannel.notify_settings(),
        "SMS_GATEWAY": "kannel",
    }

    kannel.inject_mo(SENDER, "9002", f"{card.number}  Анна; 15.6.1990")

    inbound = wait_for(lambda: InboundSms.objects.filter(outcome="activated").first())
    assert inbound.sender == SENDER and inbound.recipient == "9002"
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE and card.account.user.phone == SENDER
    assert run_pending_jobs() == 1
    reply = kannel.wait_for_mt(to=SENDER)
    assert reply.text == (
        f"Карта *{card.number[-4:]} активирована. Пароль задайте: «Забыли пароль» на сайте."
    )
    assert reply.sender == "9002"
