"""Till credentials (L-POS-3): a random bearer token per terminal, stored as its SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from kabinet.core import audit
from kabinet.core.errors import ValidationFailed
from kabinet.loyalty import caches
from kabinet.loyalty.models import Store, Terminal

# 32 random bytes: unguessable, so a fast hash is enough (no password stretching needed).
TOKEN_BYTES = 32


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


@transaction.atomic
def create_terminal(*, store: Store, name: str, actor: Any = None) -> tuple[Terminal, str]:
    """A new terminal of `store` and its token, which is shown once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed("Укажите название терминала", field="name")
    raw_token = secrets.token_urlsafe(TOKEN_BYTES)
    terminal = Terminal.objects.create(store=store, name=name, token_hash=hash_token(raw_token))
    audit.record(action="loyalty.terminal.create", actor=actor, obj=terminal)
    return terminal, raw_token


def authenticate_terminal(raw_token: str) -> Terminal | None:
    """The live terminal holding `raw_token` (with its store and region), or None.

    Cached in the process for `caches.TERMINAL_SECONDS`: a revocation takes effect at once
    in the process that made it and within that bound in the others. Callers must treat
    the terminal (and its store) as read-only: threads share it.
    """
    if not raw_token:
        return None
    digest = hash_token(raw_token)
    return caches.terminals.get(
        digest,
        lambda: (
            Terminal.objects.select_related("store__region")
            .filter(token_hash=digest, revoked_at__isnull=True)
            .first()
        ),
    )


@transaction.atomic
def revoke_terminal(*, terminal: Terminal, actor: Any = None) -> bool:
    """Stop the terminal's token from working; False if it was already revoked."""
    now = timezone.now()
    changed = Terminal.objects.filter(pk=terminal.pk, revoked_at__isnull=True).update(
        revoked_at=now
    )
    # Forget it here at once, even before the commit: no new request of this process
    # trusts the token again (the others within caches.TERMINAL_SECONDS).
    caches.terminals.forget(terminal.token_hash)
    if changed:
        terminal.revoked_at = now
        audit.record(action="loyalty.terminal.revoke", actor=actor, obj=terminal)
    return bool(changed)
