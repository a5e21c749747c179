"""Idempotent writes: a retried request replays the first response (ARCHITECTURE).

A service looks the key up first (`replay`), does its work, then `remember`s the response
in the same transaction. Two concurrent requests with one key both pass `replay`; the
second `remember` then fails on the unique (scope, key) and its whole transaction rolls
back — the caller catches `IntegrityError` outside the transaction and calls `replay` again,
which now finds the winner's response.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from kabinet.core.errors import Conflict
from kabinet.core.models import IdempotencyRecord

MAX_KEY_LENGTH = 128


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


def request_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of `payload` (sorted keys, no spaces)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(*, scope: str, key: str, request_hash: str) -> StoredResponse | None:
    """The stored response for this key, None if there is none; 409 if the body differs."""
    record = (
        IdempotencyRecord.objects.filter(scope=scope, key=key)
        .only("request_hash", "response_status", "response_body")
        .first()
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise Conflict(
            "Этот ключ идемпотентности уже использован для другого запроса",
            code="idempotency_conflict",
        )
    return StoredResponse(record.response_status, record.response_body)


def remember(*, scope: str, key: str, request_hash: str, status: int, body: dict[str, Any]) -> None:
    """Store the response; call inside the transaction of the write it answers."""
    IdempotencyRecord.objects.create(
        scope=scope, key=key, request_hash=request_hash, response_status=status, response_body=body
    )
