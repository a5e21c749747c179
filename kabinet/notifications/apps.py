from collections.abc import Callable
from datetime import timedelta

from django.apps import AppConfig
from django.db import DatabaseError
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "kabinet.notifications"
    label = "notifications"
    verbose_name = _("Уведомления")

    def ready(self) -> None:
        from kabinet.core import periodic
        from kabinet.core.metrics import register_gauge
        from kabinet.notifications import selectors, tasks

        periodic.register(
            "notifications.sweep_stalled", every=timedelta(minutes=1), run=tasks.sweep_stalled
        )

        register_gauge(
            "kabinet_notification_messages",
            "Notification messages by delivery status",
            "status",
            _tolerant(selectors.messages_by_status),
        )
        register_gauge(
            "kabinet_job_queue",
            "Background jobs waiting, running or failed, by status",
            "status",
            _tolerant(selectors.jobs_by_status),
        )


def _tolerant(read: Callable[[], dict[str, float]]) -> Callable[[], dict[str, float]]:
    """A scrape must not fail because the database is down or not migrated yet."""

    def safe_read() -> dict[str, float]:
        try:
            return read()
        except DatabaseError:
            return {}

    return safe_read
