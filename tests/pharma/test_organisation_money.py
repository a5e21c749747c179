"""The organisation's credit limit and approval threshold in the back office (SPEC P-BO-1,
P-PAY-2, P-NEXT-3): entered in roubles, kept in kopecks exactly, never negative, audited."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.urls import reverse

from kabinet.core.models import AuditEntry
from kabinet.pharma.models import Organisation
from tests.pharma.test_admin import _org_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, manager):
    client.force_login(manager)
    return client


def url(pharmacy) -> str:
    return reverse("admin:pharma_organisation_change", args=[pharmacy.organisation.pk])


def saved(pharmacy) -> Organisation:
    return Organisation.objects.get(pk=pharmacy.organisation.pk)


@pytest.mark.parametrize(
    ("typed", "kopecks"),
    [
        ("1500000", 150_000_000),
        ("1 500 000,50", 150_000_050),
        ("1\u00a0500\u00a0000.05", 150_000_005),
        ("0,01", 1),
        ("0", 0),
        ("", 0),
    ],
)
def test_the_credit_limit_is_typed_in_roubles_and_kept_in_kopecks(
    staff, pharmacy, manager, typed, kopecks
):
    response = staff.post(url(pharmacy), _org_form(pharmacy, credit_limit_rub=typed))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert saved(pharmacy).credit_limit_kopecks == kopecks
    assert saved(pharmacy).approval_threshold_kopecks is None


def test_the_threshold_is_optional_and_exact(staff, pharmacy, manager):
    response = staff.post(
        url(pharmacy),
        _org_form(pharmacy, credit_limit_rub="250000", approval_threshold_rub="49999,99"),
    )
    assert response.status_code == 302
    org = saved(pharmacy)
    assert (org.credit_limit_kopecks, org.approval_threshold_kopecks) == (25_000_000, 4_999_999)
    entry = AuditEntry.objects.get(action="pharma.organisation.money")
    assert entry.actor == manager
    assert entry.data == {
        "credit_limit_kopecks": 25_000_000,
        "approval_threshold_kopecks": 4_999_999,
        "changed": ["approval_threshold_rub", "credit_limit_rub"],
    }
    # The form shows them back in roubles; an empty threshold clears it.
    html = staff.get(url(pharmacy)).content.decode()
    assert 'value="250000,00"' in html
    assert 'value="49999,99"' in html
    staff.post(url(pharmacy), _org_form(pharmacy, credit_limit_rub="250000,00"))
    assert saved(pharmacy).approval_threshold_kopecks is None


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        ("credit_limit_rub", "-1", "Убедитесь, что это значение больше либо равно 0."),
        ("credit_limit_rub", "10,005", "Убедитесь, что вы ввели не более 2 цифр после запятой."),
        ("credit_limit_rub", "много", "Введите число."),
        ("approval_threshold_rub", "-0,01", "Убедитесь, что это значение больше либо равно 0."),
    ],
)
def test_bad_amounts_are_refused_and_nothing_changes(staff, pharmacy, field, typed, error):
    Organisation.objects.filter(pk=pharmacy.organisation.pk).update(credit_limit_kopecks=777)
    response = staff.post(url(pharmacy), _org_form(pharmacy, **{field: typed}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [error]
    assert saved(pharmacy).credit_limit_kopecks == 777
    assert not AuditEntry.objects.filter(action="pharma.organisation.money").exists()


def test_the_database_refuses_a_negative_limit_or_threshold(pharmacy):
    with pytest.raises(IntegrityError):
        Organisation.objects.filter(pk=pharmacy.organisation.pk).update(credit_limit_kopecks=-1)


def test_the_database_refuses_a_negative_threshold(pharmacy):
    with pytest.raises(IntegrityError):
        Organisation.objects.filter(pk=pharmacy.organisation.pk).update(
            approval_threshold_kopecks=-1
        )


def test_the_changelist_shows_the_limit_in_roubles(staff, pharmacy):
    Organisation.objects.filter(pk=pharmacy.organisation.pk).update(credit_limit_kopecks=123_456)
    html = staff.get(reverse("admin:pharma_organisation_changelist")).content.decode()
    assert "1\u202f234,56\u00a0₽" in html
