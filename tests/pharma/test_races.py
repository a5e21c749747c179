"""Two managers decide one registration at the same moment: exactly one decision (PostgreSQL)."""

import threading
from datetime import date

import pytest
from django.db import connection

from kabinet.accounts.models import User
from kabinet.core.errors import Conflict
from kabinet.core.models import AuditEntry
from kabinet.geo.models import City
from kabinet.notifications.models import Message
from kabinet.pharma import services
from kabinet.pharma.models import Organisation, PartnerUser, Registration, RegistrationStatus

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


def test_concurrent_approve_and_refuse_decide_exactly_once(monkeypatch):
    from kabinet.geo.loader import sync_geography
    from kabinet.geo.models import Region

    if not City.objects.exists():
        sync_geography(Region, City)
    moscow = City.objects.get(region__code="77", name_ru="Москва")
    managers = [
        User.objects.create_user(username=f"m{n}", is_staff=True, password="x") for n in (1, 2)
    ]
    registration = services.register_partner(
        username="romashka",
        email="olga@romashka-apteka.ru",
        phone="+79161234567",
        city=moscow,
        inn="7707083893",
        kpp="773601001",
        ogrn="1027700132195",
        organisation_name="ООО «Ромашка»",
        delivery_address="ул. Ленина, д. 5",
        authorities=["catalog"],
    )

    # Slow the decision down after the row is read: without the lock both managers would see
    # a pending registration and both decisions would be applied.
    real_record = services.audit.record
    entered = threading.Barrier(2)

    def slow_record(**kwargs):
        threading.Event().wait(0.3)
        return real_record(**kwargs)

    monkeypatch.setattr(services.audit, "record", slow_record)
    outcomes = []

    def decide(manager, approve):
        from django.db import connections

        try:
            entered.wait(timeout=5)
            services.verify_registration(
                registration_id=registration.pk,
                actor=manager,
                approve=approve,
                granted=["catalog"],
                contract_number="ФД-1",
                contract_date=date(2026, 3, 1),
                reason="Нет договора.",
            )
            outcomes.append("approved" if approve else "refused")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(managers[0], True)),
        threading.Thread(target=decide, args=(managers[1], False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)

    assert len(outcomes) == 2
    assert outcomes.count("conflict") == 1
    row = Registration.objects.get(pk=registration.pk)
    decided = next(o for o in outcomes if o != "conflict")
    if decided == "approved":
        assert row.status == RegistrationStatus.APPROVED
        assert PartnerUser.objects.count() == 1
        assert Organisation.objects.count() == 1
    else:
        assert row.status == RegistrationStatus.REFUSED
        assert PartnerUser.objects.count() == 0
        assert Organisation.objects.count() == 0
    assert AuditEntry.objects.filter(action__startswith="pharma.registration").count() == 1
    assert Message.objects.filter(to="olga@romashka-apteka.ru").count() == 1
