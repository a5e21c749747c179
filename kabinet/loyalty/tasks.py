"""Loyalty background jobs.

Hold expiry (L-POS-4): a two-phase purchase that is neither confirmed nor cancelled releases
its reserved points after `ProgramSettings.hold_expiry_minutes`. django.tasks has no
scheduler, so expiry is driven three ways:

1. `kabinet worker` runs `expire_holds_task` every minute through the periodic-job
   scheduler (`kabinet.core.periodic`, registered in `LoyaltyConfig.ready`), so a hold is
   released at most about a minute after it runs out. Nothing is enqueued per purchase:
   a commit stays as few statements as it is.
2. `confirm_hold` itself refuses and releases a hold that has run out, to the second,
   whatever the sweep has done.
3. `kabinet loyalty expire-holds` runs the same sweep from a system timer, for deployments
   that run no worker.

Releasing is one conditional UPDATE per hold, so the sweep on several workers, the command
and a till's confirm may run at once: each hold is released exactly once.
"""

from __future__ import annotations

from datetime import timedelta

from django.tasks import task

from kabinet.loyalty.services.holds import expire_holds

EXPIRE_HOLDS_EVERY = timedelta(minutes=1)


@task()
def expire_holds_task() -> int:
    """Release every two-phase hold past its expiry; how many were released."""
    return expire_holds()


def sweep_expired_holds() -> int:
    """The periodic job: the task's work, run in the scheduler's thread."""
    return expire_holds_task.call()
