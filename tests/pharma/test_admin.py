"""The pharma back office pages open, and organisation decisions are audited (SPEC P-BO-1)."""

from datetime import date

import pytest
from django.urls import reverse

from kabinet.core.models import AuditEntry
from kabinet.pharma import demo
from kabinet.pharma.models import Licence, OrganisationStatus, PartnerUser


@pytest.mark.parametrize("name", ["lead", "registration", "organisation", "partneruser", "branch"])
def test_changelists_open(client, manager, name):
    demo.load()
    client.force_login(manager)
    response = client.get(reverse(f"admin:pharma_{name}_changelist"))
    assert response.status_code == 200


def _org_form(pharmacy, **overrides):
    org = pharmacy.organisation
    data = {
        "name": org.name,
        "inn": org.inn,
        "kpp": org.kpp,
        "ogrn": org.ogrn,
        "status": org.status,
        "contract_number": org.contract_number,
        "contract_date": org.contract_date.isoformat(),
        "members-TOTAL_FORMS": "2",
        "members-INITIAL_FORMS": "2",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
        "addresses-TOTAL_FORMS": "1",
        "addresses-INITIAL_FORMS": "1",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
        "licences-TOTAL_FORMS": "1",
        "licences-INITIAL_FORMS": "0",
        "licences-MIN_NUM_FORMS": "0",
        "licences-MAX_NUM_FORMS": "1000",
    }
    for i, member in enumerate([pharmacy.admin, pharmacy.colleague]):
        data.update(
            {
                f"members-{i}-id": str(member.pk),
                f"members-{i}-organisation": str(org.pk),
                f"members-{i}-user": str(member.user_id),
                f"members-{i}-full_name": member.full_name,
                f"members-{i}-phone": "",
            }
        )
        for a in member.authorities:
            data.setdefault(f"members-{i}-authorities", [])
            data[f"members-{i}-authorities"].append(a)
    address = pharmacy.address
    data.update(
        {
            "addresses-0-id": str(address.pk),
            "addresses-0-organisation": str(org.pk),
            "addresses-0-name": address.name,
            "addresses-0-city": str(address.city_id),
            "addresses-0-address": address.address,
        }
    )
    data.update(overrides)
    return data


def test_blocking_an_organisation_is_audited_and_licences_are_kept(client, manager, pharmacy):
    client.force_login(manager)
    url = reverse("admin:pharma_organisation_change", args=[pharmacy.organisation.pk])
    assert client.get(url).status_code == 200
    data = _org_form(
        pharmacy,
        status="blocked",
        **{
            "licences-0-number": "Л042-01",
            "licences-0-kinds": ["pharmaceutical", "narcotic"],
            "licences-0-expires_on": "2030-12-31",
            "members-1-authorities": ["catalog", "order"],
        },
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    pharmacy.organisation.refresh_from_db()
    assert pharmacy.organisation.status == OrganisationStatus.BLOCKED
    entry = AuditEntry.objects.get(action="pharma.organisation.status")
    assert entry.data == {"from": "active", "to": "blocked"}
    assert entry.actor == manager
    licence = Licence.objects.get()
    assert licence.kinds == ["pharmaceutical", "narcotic"]
    assert licence.expires_on == date(2030, 12, 31)
    assert licence.is_valid_on(date(2031, 1, 1)) is False
    assert PartnerUser.objects.get(pk=pharmacy.colleague.pk).authorities == ["catalog", "order"]


def test_admin_refuses_a_wrong_inn(client, manager, pharmacy):
    client.force_login(manager)
    url = reverse("admin:pharma_organisation_change", args=[pharmacy.organisation.pk])
    response = client.post(url, _org_form(pharmacy, inn="7707083894"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["inn"] == [
        "Неверное контрольное число ИНН: в номере опечатка. Сверьте его со свидетельством."
    ]
    pharmacy.organisation.refresh_from_db()
    assert pharmacy.organisation.inn == "7707083893"
