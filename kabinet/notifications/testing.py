"""Run queued jobs in this process: for tests and the demo, where no worker is running.

It claims and runs jobs the way `db_worker` does (the same Worker.run_task, so results,
tracebacks and signals are recorded alike), without the worker's loop, which closes database
connections between jobs and so cannot run inside a test's transaction.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, get_date_max

WORKER_ID = "kabinet-in-process"


def run_pending_jobs(
    *,
    until: datetime | None = None,
    max_jobs: int = 1000,
    backend: str = DEFAULT_TASK_BACKEND_ALIAS,
) -> int:
    """Run every job due by `until` (default now), jobs they enqueue included; return the count.

    A time in the future runs the back-off retries too, as if the clock had moved on.
    """
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=backend,
        startup_delay=False,
        max_tasks=None,
        worker_id=WORKER_ID,
        excluded_queue_names=[],
    )
    ran = 0
    while ran < max_jobs:
        job = _claim_next(backend, until or timezone.now())
        if job is None:
            break
        worker.run_task(job)
        ran += 1
    return ran


def _claim_next(backend: str, until: datetime) -> DBTaskResult | None:
    due = Q(run_after=get_date_max()) | Q(run_after__lte=until)
    with transaction.atomic():
        job = (
            DBTaskResult.objects.filter(due, status=TaskResultStatus.READY, backend_name=backend)
            .select_for_update(skip_locked=True)
            .first()
        )
        if job is not None:
            job.claim(WORKER_ID)
    return job
