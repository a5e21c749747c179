"""Two supervisors approving (or one approving, one rejecting) the same request at once:
the row lock lets exactly one decision through, and the ledger gets at most one entry."""

from __future__ import annotations

import pytest

from kabinet.core.errors import Conflict
from kabinet.loyalty.models import AdjustmentRequest, AdjustmentStatus, LedgerEntry
from kabinet.loyalty.selectors import reconciliation_differences
from kabinet.loyalty.services import support
from tests.loyalty.callcentre.conftest import staff
from tests.loyalty.factories import member
from tests.loyalty.test_races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def pending(actor):
    account, _card = member()
    return account, support.request_adjustment(
        account=account, amount=250_000, reason="компенсация", actor=actor
    )


@pytest.mark.parametrize("attempt", range(3))
def test_two_approvals_at_once_post_once(attempt):
    from kabinet.loyalty.callcentre import roles

    asker = staff(roles.SUPPORT_GROUP, f"asker{attempt}")
    boss_a = staff(roles.SUPERVISOR_GROUP, f"a{attempt}")
    boss_b = staff(roles.SUPERVISOR_GROUP, f"b{attempt}")
    account, request = pending(asker)

    results = race(
        lambda: support.approve_adjustment(request_id=request.pk, actor=boss_a),
        lambda: support.approve_adjustment(request_id=request.pk, actor=boss_b),
    )

    assert sorted(type(r).__name__ for r in results) == ["AdjustmentRequest", "Conflict"]
    account.refresh_from_db()
    assert account.balance == 250_000
    assert LedgerEntry.objects.filter(account=account).count() == 1
    assert reconciliation_differences() == []


@pytest.mark.parametrize("attempt", range(3))
def test_approve_and_reject_at_once_decide_once(attempt):
    from kabinet.loyalty.callcentre import roles

    asker = staff(roles.SUPPORT_GROUP, f"asker{attempt}")
    boss_a = staff(roles.SUPERVISOR_GROUP, f"a{attempt}")
    boss_b = staff(roles.SUPERVISOR_GROUP, f"b{attempt}")
    account, request = pending(asker)

    results = race(
        lambda: support.approve_adjustment(request_id=request.pk, actor=boss_a),
        lambda: support.reject_adjustment(request_id=request.pk, actor=boss_b, reason="нет"),
    )

    assert sum(isinstance(r, Conflict) for r in results) == 1
    request.refresh_from_db()
    entries = LedgerEntry.objects.filter(account=account).count()
    account.refresh_from_db()
    if request.status == AdjustmentStatus.POSTED:
        assert (entries, account.balance) == (1, 250_000)
    else:
        assert request.status == AdjustmentStatus.REJECTED
        assert (entries, account.balance) == (0, 0)
    assert AdjustmentRequest.objects.filter(status=AdjustmentStatus.PENDING).count() == 0
