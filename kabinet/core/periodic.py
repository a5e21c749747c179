"""Periodic jobs: the few things that must happen on a clock, not because of a request.

`django.tasks` has no scheduler, so `kabinet worker` runs a small one in a thread beside the
job worker: every few seconds it runs the registered functions that are due. Apps register
in their `AppConfig.ready()`:

    periodic.register("notifications.sweep", every=timedelta(minutes=1), run=sweep_stalled)

Every registered function must be idempotent and safe to run on several workers at once
(conditional updates, row locks): with two workers each runs it on its own clock, which
is the price of needing no leader election and no extra server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: timedelta
    run: Callable[[], object]
    next_run: float = field(default=0.0)


_jobs: dict[str, Job] = {}


def register(name: str, *, every: timedelta, run: Callable[[], object]) -> None:
    _jobs[name] = Job(name=name, every=every, run=run)


def registered() -> list[str]:
    return sorted(_jobs)


def run_due(*, now: float | None = None) -> list[str]:
    """Run every job whose time has come; a failing job is logged and tried next time."""
    now = time.monotonic() if now is None else now
    ran = []
    for job in list(_jobs.values()):
        if job.next_run > now:
            continue
        job.next_run = now + job.every.total_seconds()
        try:
            result = job.run()
            ran.append(job.name)
            logger.debug("periodic job %s: %s", job.name, result, extra={"job": job.name})
        except Exception:
            logger.exception("periodic job %s failed", job.name, extra={"job": job.name})
        finally:
            close_old_connections()
    return ran


def start_scheduler(*, tick_seconds: float = 5.0) -> threading.Event:
    """Start the scheduler thread; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            run_due()
            stop.wait(tick_seconds)

    threading.Thread(target=loop, name="kabinet-periodic", daemon=True).start()
    return stop
