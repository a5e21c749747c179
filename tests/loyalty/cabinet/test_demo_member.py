"""The demo member (+79990000001) has a year of purchases: every cabinet page opens and
shows it, in a bounded number of queries."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kabinet.loyalty import cabinet, demo
from kabinet.loyalty.models import Account

pytestmark = pytest.mark.django_db

PAGES = [
    "/cabinet/",
    "/cabinet/receipts/",
    "/cabinet/chart/",
    "/cabinet/card/",
    "/cabinet/offers/",
    "/cabinet/stores/",
    "/cabinet/stores/?lat=55.75&lon=37.61",
    "/cabinet/profile/",
    "/cabinet/notifications/",
    "/cabinet/data/",
    "/cabinet/data/export.json",
]


class _RollBack(Exception):
    pass


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                yield demo.load()
                raise _RollBack
        except _RollBack:
            pass


def test_every_page_opens_for_the_demo_member(demo_loaded):
    account = Account.objects.select_related("user").get(user__phone=demo.MEMBER_PHONE)
    client = Client()
    client.force_login(account.user)
    for url in PAGES:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        assert len(queries) <= 30, (url, len(queries))
    receipt = cabinet.receipts_of(account).first()
    assert client.get(f"/cabinet/receipts/{receipt.pk}/").status_code == 200
    months = [p for p in cabinet.monthly_chart(account, cabinet.timezone.localdate()) if p.spend]
    assert len(months) >= 11
