"""The one place that decides what call-centre and back-office staff may do (L-ACT-3, L-BO-3/4).

Roles are nested: an operator finds cards and members, activates cards for callers, resends
codes, blocks and replaces cards; support also sees full contacts and history and asks for
manual adjustments; a supervisor also approves large adjustments and reads the reports.
A superuser counts as a supervisor. Every console view is wrapped in `staff_can(ability)`:
a visitor who is not signed in goes to the staff login, anyone else without the ability gets
403. Domain errors a view lets through become 404/403 here too.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from kabinet.core.errors import NotFound, PermissionDenied
from kabinet.loyalty.callcentre import roles


class Role(IntEnum):
    OPERATOR = 1
    SUPPORT = 2
    SUPERVISOR = 3


ROLE_OF_GROUP = {
    roles.OPERATOR_GROUP: Role.OPERATOR,
    roles.SUPPORT_GROUP: Role.SUPPORT,
    roles.SUPERVISOR_GROUP: Role.SUPERVISOR,
}

ROLE_LABELS = {
    Role.OPERATOR: "оператор",
    Role.SUPPORT: "поддержка",
    Role.SUPERVISOR: "супервайзер",
}

#: The least role each ability needs.
ABILITIES: dict[str, Role] = {
    "search": Role.OPERATOR,
    "view_member": Role.OPERATOR,
    "activate": Role.OPERATOR,
    "resend_code": Role.OPERATOR,
    "block_card": Role.OPERATOR,
    "replace_card": Role.OPERATOR,
    # Full phone, e-mail and birth date, and the whole history, not just the last lines.
    "see_contacts": Role.SUPPORT,
    "see_history": Role.SUPPORT,
    "request_adjustment": Role.SUPPORT,
    "approve_adjustment": Role.SUPERVISOR,
    "reports": Role.SUPERVISOR,
}

#: Lines of receipts and ledger a role sees on the member page.
RECENT_LINES = 5
HISTORY_LINES = 100


def role_of(user: Any) -> Role | None:
    """The user's console role, or None (not staff, or staff without a console role)."""
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return None
    if user.is_superuser:
        return Role.SUPERVISOR
    # Asked several times per page (the view, then every menu item): read the groups once.
    if not hasattr(user, "_callcentre_role"):
        names = user.groups.filter(name__in=ROLE_OF_GROUP).values_list("name", flat=True)
        user._callcentre_role = max((ROLE_OF_GROUP[name] for name in names), default=None)
    role: Role | None = user._callcentre_role
    return role


def can(user: Any, ability: str) -> bool:
    role = role_of(user)
    return role is not None and role >= ABILITIES[ability]


def require(user: Any, ability: str) -> None:
    """Raise 403 unless `user` may do `ability`."""
    if not can(user, ability):
        raise DjangoPermissionDenied


def abilities_of(user: Any) -> dict[str, bool]:
    """What the templates may offer: {"reports": True, ...}."""
    return {name: can(user, name) for name in ABILITIES}


def history_lines(user: Any) -> int:
    return HISTORY_LINES if can(user, "see_history") else RECENT_LINES


def staff_can(ability: str) -> Callable:
    """Wrap a console view: sign-in first, then the ability, then domain errors → 404/403."""
    if ability not in ABILITIES:
        raise ValueError(f"unknown ability {ability!r}")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{settings.LOGIN_URL}?{query}")
            require(request.user, ability)
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except PermissionDenied:
                raise DjangoPermissionDenied from None

        return wrapper

    return decorator
