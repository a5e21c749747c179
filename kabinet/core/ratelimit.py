"""Fixed-window counters in the Django cache (Redis in production, shared by all servers).

Used for login attempts, code requests and public forms. A counter is a cache key per
(scope, subject, window); `hit` increments it atomically and says whether the limit is
exceeded, so two servers cannot both let the N+1-th attempt through.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    scope: str
    max_hits: int
    window_seconds: int


def _key(limit: Limit, subject: str, window_start: int) -> str:
    # Hash the subject: phones and addresses should not sit in the cache in clear text.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"rl:{limit.scope}:{digest}:{window_start}"


def _window_start(limit: Limit, now: float) -> int:
    return int(now) - int(now) % limit.window_seconds


def hit(limit: Limit, subject: str, *, now: float | None = None) -> tuple[bool, int]:
    """Count one attempt. Returns (allowed, seconds until the window resets)."""
    now = time.time() if now is None else now
    start = _window_start(limit, now)
    key = _key(limit, subject, start)
    cache.add(key, 0, timeout=limit.window_seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=limit.window_seconds + 1)
        count = 1
    retry_after = max(1, start + limit.window_seconds - int(now))
    return count <= limit.max_hits, retry_after


def exceeded(limit: Limit, subject: str, *, now: float | None = None) -> bool:
    """Whether the subject is already over the limit, without counting an attempt."""
    now = time.time() if now is None else now
    count = cache.get(_key(limit, subject, _window_start(limit, now)), 0)
    return count >= limit.max_hits


def reset(limit: Limit, subject: str, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    cache.delete(_key(limit, subject, _window_start(limit, now)))
