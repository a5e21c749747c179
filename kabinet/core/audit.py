"""The audit service: the one way anything writes to the audit log (SPEC X-5)."""

from __future__ import annotations

from typing import Any

from django.db import models

from kabinet.core.models import AuditEntry


def record(
    *,
    action: str,
    actor: Any = None,
    actor_label: str = "",
    obj: models.Model | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append an audit entry; call it inside the transaction of the action it records."""
    if actor is not None and not actor_label:
        actor_label = actor.get_username()
    return AuditEntry.objects.create(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label or "system",
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        reason=reason,
        data=data or {},
        ip=ip,
    )
