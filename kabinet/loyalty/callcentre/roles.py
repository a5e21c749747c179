"""The call-centre and support roles as Django groups, created idempotently.

A role is membership of one group; `access.py` reads it. Groups (not per-model permissions)
because the roles are nested job descriptions, not rights on tables: a supervisor may do all
that support may, support all that an operator may.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from kabinet.accounts.models import User

OPERATOR_GROUP = "Колл-центр: оператор"
SUPPORT_GROUP = "Колл-центр: поддержка"
SUPERVISOR_GROUP = "Колл-центр: супервайзер"
GROUPS = (OPERATOR_GROUP, SUPPORT_GROUP, SUPERVISOR_GROUP)

#: Demo staff: (login, password, group). The passwords are reset on every demo start.
DEMO_STAFF = (
    ("operator", "kabinet-demo", OPERATOR_GROUP),
    ("support", "kabinet-demo", SUPPORT_GROUP),
    ("supervisor", "kabinet-demo", SUPERVISOR_GROUP),
    ("supervisor2", "kabinet-demo", SUPERVISOR_GROUP),
)


def ensure_groups() -> dict[str, Group]:
    """The role groups, created if missing."""
    return {name: Group.objects.get_or_create(name=name)[0] for name in GROUPS}


def grant(user: User, group_name: str) -> None:
    """Give `user` exactly one call-centre role (staff, so that the admin login admits them)."""
    groups = ensure_groups()
    user.groups.remove(*[g for name, g in groups.items() if name != group_name])
    user.groups.add(groups[group_name])
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


@transaction.atomic
def ensure_demo_staff() -> list[str]:
    """Demo operator, support agent and two supervisors (two: a large adjustment needs a
    second one to approve). Returns the lines the demo prints."""
    lines = []
    for username, password, group in DEMO_STAFF:
        user, _created = User.objects.get_or_create(username=username)
        user.is_staff, user.is_active = True, True
        user.set_password(password)
        user.save()
        grant(user, group)
        lines.append(f"{group}: логин {username}, пароль {password} — /callcentre/")
    return lines
