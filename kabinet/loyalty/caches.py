"""Process-local caches of the till's hottest reads: terminal tokens and premium goods.

Every purchase needs its terminal (token → terminal, store, region) and the premium goods
of its store's region on its local date. Both change rarely, and reading them from the
database took about 40 % of a purchase's server CPU, so each process keeps them in memory
for a short time. How stale they may be:

* A terminal: `TERMINAL_SECONDS` (10 s). `revoke_terminal` forgets the token in its own
  process at once; a process that cached it earlier accepts it for at most 10 s more. The
  same bound holds for a change of the store's time zone, participation or region.
* Premium goods: a change through the ORM (the back office, the demo) forgets this
  process's copy and bumps a version in Django's cache, which every process compares at
  most once a second — so with a shared cache (Redis, production) other processes see the
  change within about a second, and with per-process local memory within
  `PREMIUM_SECONDS` (30 s), when their copy expires.

Only known, live terminals are cached (an unknown token is not, so junk tokens cannot fill
memory), and a cache that grows past its bound is simply emptied.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

from django.core.cache import cache
from django.db import transaction

TERMINAL_SECONDS = 10.0
PREMIUM_SECONDS = 30.0
#: How often a process compares its copy's version with the shared one.
VERSION_CHECK_SECONDS = 1.0
MAX_ENTRIES = 100_000


class ProcessCache:
    """A dict of (expiry, value) with a time to live, optionally tied to a shared version.

    Thread-safe enough for granian's threads: a value loaded while `clear` ran is not
    stored (the generation changed), so a load can never resurrect what a clear dropped.
    """

    def __init__(self, *, seconds: float, version_key: str | None = None) -> None:
        self.seconds = seconds
        self.version_key = version_key
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        self._version: Any = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of `key`, or `load()` (stored unless it is None)."""
        now = time.monotonic()
        if self.version_key is not None and now - self._checked >= VERSION_CHECK_SECONDS:
            self._check_version(now)
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        value = load()
        with self._lock:
            if value is None:
                self._entries.pop(key, None)
            elif generation == self._generation:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = (now + self.seconds, value)
        return value

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything in this process."""
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._checked = float("-inf")

    def bump(self) -> None:
        """Forget everything here and tell the other processes (via the shared version)."""
        if self.version_key is not None:
            cache.set(self.version_key, uuid.uuid4().hex, None)
        self.clear()

    def _check_version(self, now: float) -> None:
        version = cache.get(self.version_key)
        with self._lock:
            self._checked = now
            if version != self._version:
                self._version = version
                self._generation += 1
                self._entries.clear()


#: sha256(token) → Terminal (with its store and the store's region).
terminals = ProcessCache(seconds=TERMINAL_SECONDS)
#: (region id, local date) → frozenset of the premium SKUs valid there then.
premium_goods = ProcessCache(seconds=PREMIUM_SECONDS, version_key="loyalty:premium-goods:version")


def premium_goods_changed(**_: Any) -> None:
    """After a premium good was saved or deleted (also a signal receiver): drop every
    process's copy now and once more after the commit, so a till that re-read the goods
    while the change was uncommitted does not keep the old list until it expires."""
    premium_goods.bump()
    transaction.on_commit(premium_goods.bump)


def clear_all() -> None:
    """Forget every process-local copy (tests, and after bulk changes)."""
    terminals.clear()
    premium_goods.clear()
