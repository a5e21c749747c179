"""Manual adjustments: small ones post at once, large ones need a different supervisor."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kabinet.core.errors import Conflict, PermissionDenied, ValidationFailed
from kabinet.core.models import AuditEntry
from kabinet.loyalty.callcentre.forms import parse_points
from kabinet.loyalty.models import AdjustmentRequest, AdjustmentStatus, LedgerEntry
from kabinet.loyalty.selectors import reconciliation_differences
from kabinet.loyalty.services import support
from tests.loyalty.factories import member

pytestmark = pytest.mark.django_db


def state(account):
    account.refresh_from_db()
    return account.balance, LedgerEntry.objects.count()


def test_small_adjustment_posts_at_once(as_support, support_agent):
    account, _card = member()
    response = as_support.post(
        reverse("callcentre:adjust", args=[account.pk]),
        {"amount": "150,50", "reason": "компенсация за сбой кассы"},
        follow=True,
    )
    assert "Корректировка проведена" in response.content.decode()
    account.refresh_from_db()
    assert account.balance == 15_050
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.reason, entry.created_by) == (
        "adjust",
        15_050,
        "компенсация за сбой кассы",
        support_agent,
    )
    request = AdjustmentRequest.objects.get()
    assert (request.status, request.entry) == (AdjustmentStatus.POSTED, entry)
    audit = AuditEntry.objects.get(action="loyalty.points.adjust")
    assert (audit.actor, audit.reason, audit.data["amount"]) == (
        support_agent,
        "компенсация за сбой кассы",
        15_050,
    )
    assert reconciliation_differences() == []


def test_negative_small_adjustment(support_agent):
    account, _card = member()
    support.request_adjustment(account=account, amount=-2_000, reason="ошибка", actor=support_agent)
    assert state(account) == (-2_000, 1)


def test_threshold_itself_posts_at_once(support_agent):
    account, _card = member()
    support.request_adjustment(
        account=account, amount=support.approval_threshold(), reason="x", actor=support_agent
    )
    assert state(account) == (100_000, 1)


def test_large_adjustment_waits_for_another_supervisor(
    as_support, as_supervisor, as_supervisor2, support_agent, supervisor
):
    account, _card = member()
    response = as_support.post(
        reverse("callcentre:adjust", args=[account.pk]),
        {"amount": "1000,01", "reason": "подарок за жалобу"},
        follow=True,
    )
    assert "заявка ждёт подтверждения" in response.content.decode()
    assert state(account) == (0, 0)
    request = AdjustmentRequest.objects.get()
    assert (request.status, request.amount, request.requested_by) == (
        AdjustmentStatus.PENDING,
        100_001,
        support_agent,
    )
    assert AuditEntry.objects.get(action="loyalty.adjustment.request").actor == support_agent

    # The queue shows it to supervisors.
    assert (
        "подарок за жалобу" in as_supervisor.get(reverse("callcentre:adjustments")).content.decode()
    )
    as_supervisor.post(reverse("callcentre:adjustment-approve", args=[request.pk]))
    assert state(account) == (100_001, 1)
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (AdjustmentStatus.POSTED, supervisor)
    assert request.entry.created_by == supervisor
    approved = AuditEntry.objects.get(action="loyalty.adjustment.approve")
    assert (approved.actor, approved.data["requested_by"]) == (supervisor, support_agent.pk)
    assert reconciliation_differences() == []

    # Deciding twice is refused and changes nothing.
    response = as_supervisor2.post(
        reverse("callcentre:adjustment-approve", args=[request.pk]), follow=True
    )
    assert "По этой заявке уже принято решение" in response.content.decode()
    assert state(account) == (100_001, 1)


def test_self_approval_is_refused(as_supervisor, supervisor, supervisor2):
    account, _card = member()
    request = support.request_adjustment(
        account=account, amount=-500_000, reason="списание ошибочных баллов", actor=supervisor
    )
    assert request.status == AdjustmentStatus.PENDING
    response = as_supervisor.post(
        reverse("callcentre:adjustment-approve", args=[request.pk]), follow=True
    )
    assert "Свою заявку подтвердить нельзя" in response.content.decode()
    with pytest.raises(PermissionDenied):
        support.approve_adjustment(request_id=request.pk, actor=supervisor)
    assert state(account) == (0, 0)
    request.refresh_from_db()
    assert request.status == AdjustmentStatus.PENDING

    support.approve_adjustment(request_id=request.pk, actor=supervisor2)
    assert state(account) == (-500_000, 1)


def test_rejected_adjustment_changes_nothing(as_supervisor2, support_agent, supervisor2):
    account, _card = member()
    request = support.request_adjustment(
        account=account, amount=200_000, reason="много", actor=support_agent
    )
    as_supervisor2.post(
        reverse("callcentre:adjustment-reject", args=[request.pk]), {"reason": "нет оснований"}
    )
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_reason) == (
        AdjustmentStatus.REJECTED,
        supervisor2,
        "нет оснований",
    )
    assert state(account) == (0, 0)
    assert AuditEntry.objects.get(action="loyalty.adjustment.reject").reason == "нет оснований"
    with pytest.raises(Conflict):
        support.approve_adjustment(request_id=request.pk, actor=supervisor2)
    assert state(account) == (0, 0)


def test_support_cannot_approve(as_support, supervisor):
    account, _card = member()
    request = support.request_adjustment(
        account=account, amount=200_000, reason="x", actor=supervisor
    )
    response = as_support.post(reverse("callcentre:adjustment-approve", args=[request.pk]))
    assert response.status_code == 403
    assert state(account) == (0, 0)


@pytest.mark.parametrize(("amount", "reason"), [(0, "причина"), (100, " ")])
def test_refused_requests_write_nothing(support_agent, amount, reason):
    account, _card = member()
    with pytest.raises(ValidationFailed):
        support.request_adjustment(
            account=account, amount=amount, reason=reason, actor=support_agent
        )
    assert state(account) == (0, 0)
    assert not AdjustmentRequest.objects.exists()


@pytest.mark.parametrize("typed", ["0", "1,234", "abc", "NaN", "Infinity"])
def test_bad_amounts_are_refused_on_the_form(as_support, typed):
    account, _card = member()
    response = as_support.post(
        reverse("callcentre:adjust", args=[account.pk]),
        {"amount": typed, "reason": "x"},
        follow=True,
    )
    assert "message-error" in response.content.decode()
    assert state(account) == (0, 0)


@pytest.mark.parametrize(
    ("typed", "hundredths"),
    [("150", 15_000), ("-20,5", -2_050), ("+1 000.25", 100_025), ("0.01", 1)],
)
def test_parse_points(typed, hundredths):
    assert parse_points(typed) == hundredths


def test_threshold_is_configurable(settings, support_agent):
    settings.KABINET_ADJUSTMENT_APPROVAL_THRESHOLD = 1_000
    account, _card = member()
    request = support.request_adjustment(
        account=account, amount=1_001, reason="x", actor=support_agent
    )
    assert request.status == AdjustmentStatus.PENDING
