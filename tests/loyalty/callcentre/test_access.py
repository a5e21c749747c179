"""Roles: who reaches which console page, and what each role sees of a member."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kabinet.core.models import AuditEntry
from kabinet.loyalty.callcentre import access, roles
from kabinet.loyalty.models import AdjustmentRequest, LedgerEntry
from tests.loyalty.factories import StaffFactory, member

pytestmark = pytest.mark.django_db

SUPERVISOR_PAGES = ["callcentre:reports", "callcentre:adjustments", "callcentre:reports-points-csv"]


def test_anonymous_visitor_is_sent_to_the_staff_login(client):
    response = client.get(reverse("callcentre:search"))
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=%2Fcallcentre%2F"


@pytest.mark.parametrize("name", ["callcentre:search", "callcentre:activate", *SUPERVISOR_PAGES])
def test_a_member_or_staff_without_a_role_gets_403(as_member, as_plain_staff, name):
    assert as_member.get(reverse(name)).status_code == 403
    assert as_plain_staff.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", SUPERVISOR_PAGES)
def test_operator_and_support_cannot_reach_supervisor_pages(as_operator, as_support, name):
    assert as_operator.get(reverse(name)).status_code == 403
    assert as_support.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", SUPERVISOR_PAGES)
def test_supervisor_reaches_supervisor_pages(as_supervisor, name):
    assert as_supervisor.get(reverse(name)).status_code == 200


def test_operator_cannot_adjust_points(as_operator):
    account, _card = member()
    response = as_operator.post(
        reverse("callcentre:adjust", args=[account.pk]), {"amount": "10", "reason": "жалоба"}
    )
    assert response.status_code == 403
    assert LedgerEntry.objects.count() == 0
    assert AdjustmentRequest.objects.count() == 0


def test_inactive_staff_has_no_role():
    user = StaffFactory(is_active=False)
    roles.grant(user, roles.SUPERVISOR_GROUP)
    assert access.role_of(user) is None


def test_roles_are_nested():
    operator, support, supervisor = (StaffFactory() for _ in range(3))
    roles.grant(operator, roles.OPERATOR_GROUP)
    roles.grant(support, roles.SUPPORT_GROUP)
    roles.grant(supervisor, roles.SUPERVISOR_GROUP)
    assert [access.can(u, "block_card") for u in (operator, support, supervisor)] == [True] * 3
    assert [access.can(u, "request_adjustment") for u in (operator, support, supervisor)] == [
        False,
        True,
        True,
    ]
    assert [access.can(u, "reports") for u in (operator, support, supervisor)] == [
        False,
        False,
        True,
    ]
    assert access.role_of(StaffFactory(is_superuser=True)) == access.Role.SUPERVISOR


def test_operator_sees_masked_contacts_support_sees_them_in_full(as_operator, as_support):
    account, _card = member()
    account.user.phone = "+79161234567"
    account.user.email = "anna@example.ru"
    account.user.save()
    url = reverse("callcentre:member", args=[account.pk])

    masked = as_operator.get(url).content.decode()
    assert "+7 916 ***-**-67" in masked
    assert "a***@example.ru" in masked
    assert "**.**.1990" in masked
    assert "anna@example.ru" not in masked and "123-45-67" not in masked
    assert "Корректировка баллов" not in masked

    full = as_support.get(url).content.decode()
    assert "+7 916 123-45-67" in full
    assert "anna@example.ru" in full
    assert "15.06.1990" in full
    assert "Корректировка баллов" in full


def test_viewing_a_member_is_audited(as_operator, operator):
    account, _card = member()
    as_operator.get(reverse("callcentre:member", args=[account.pk]))
    entry = AuditEntry.objects.get(action="callcentre.member.view")
    assert (entry.actor, entry.object_id) == (operator, str(account.pk))


def test_unknown_member_is_404(as_operator):
    assert as_operator.get(reverse("callcentre:member", args=[999999])).status_code == 404


def test_demo_staff_is_idempotent():
    first = roles.ensure_demo_staff()
    second = roles.ensure_demo_staff()
    assert first == second and len(first) == 4
    from kabinet.accounts.models import User

    roles_by_name = {u.username: access.role_of(u) for u in User.objects.filter(is_staff=True)}
    assert roles_by_name == {
        "operator": access.Role.OPERATOR,
        "support": access.Role.SUPPORT,
        "supervisor": access.Role.SUPERVISOR,
        "supervisor2": access.Role.SUPERVISOR,
    }


def test_operator_sees_the_last_lines_support_the_history(as_operator, as_support):
    from kabinet.loyalty.services.ledger import adjust_points

    account, _card = member()
    clerk = StaffFactory()
    for n in range(7):
        adjust_points(account=account, amount=100 + n, reason=f"строка {n}", actor=clerk)
    url = reverse("callcentre:member", args=[account.pk])
    operator_page = as_operator.get(url).content.decode()
    support_page = as_support.get(url).content.decode()
    assert sum(f"строка {n}" in operator_page for n in range(7)) == access.RECENT_LINES
    assert "строка 6" in operator_page and "строка 0" not in operator_page
    assert sum(f"строка {n}" in support_page for n in range(7)) == 7
