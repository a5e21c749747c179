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

from django.db import connection
from django.utils import timezone

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


#: "key" is a keyword in SQL (a non-reserved one in PostgreSQL and SQLite): quoted anyway.
_KEY = '"key"'


def _table() -> str:
    return connection.ops.quote_name(IdempotencyRecord._meta.db_table)


def replay(*, scope: str, key: str, request_hash: str) -> StoredResponse | None:
    """The stored response for this key, None if there is none; 409 if the body differs.

    Plain SQL: every till commit runs this and `remember`, and building them through the
    ORM cost several times the database's own work (measured; the statements are trivial).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT request_hash, response_status, response_body FROM {_table()} "  # noqa: S608
            f"WHERE scope = %s AND {_KEY} = %s",
            [scope, key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    stored_hash, status, body = row
    if stored_hash != request_hash:
        raise conflict()
    return StoredResponse(int(status), _body(body))


def remember(*, scope: str, key: str, request_hash: str, status: int, body: dict[str, Any]) -> None:
    """Store the response; call inside the transaction of the write it answers."""
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table()} "  # noqa: S608
            f"(scope, {_KEY}, request_hash, response_status, response_body, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [
                scope,
                key,
                request_hash,
                status,
                ops.adapt_json_value(body, None),
                ops.adapt_datetimefield_value(timezone.now()),
            ],
        )


def stored_many(*, scope: str, keys: list[str]) -> dict[str, tuple[str, StoredResponse]]:
    """For a batch: key → (request hash, stored response) of the keys already used, in one
    query. The caller compares the hashes (a differing one is the 409 of `replay`)."""
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        keys_match, params = f"{_KEY} = ANY(%s)", [scope, list(keys)]
    else:
        keys_match, params = f"{_KEY} IN ({', '.join(['%s'] * len(keys))})", [scope, *keys]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_KEY}, request_hash, response_status, response_body FROM {_table()} "  # noqa: S608
            f"WHERE scope = %s AND {keys_match}",
            params,
        )
        rows = cursor.fetchall()
    return {
        key: (digest, StoredResponse(int(status), _body(body)))
        for key, digest, status, body in rows
    }


def _body(raw: Any) -> dict[str, Any]:
    # PostgreSQL's jsonb and SQLite's text both arrive as text (as for JSONField).
    return json.loads(raw) if isinstance(raw, str | bytes) else raw


def conflict() -> Conflict:
    return Conflict(
        "Этот ключ идемпотентности уже использован для другого запроса",
        code="idempotency_conflict",
    )


def remember_many(*, scope: str, responses: list[tuple[str, str, int, dict[str, Any]]]) -> None:
    """Store (key, request hash, status, body) of a batch in one INSERT; same transaction
    as the writes, and a key taken meanwhile fails it with IntegrityError, like `remember`.

    Plain SQL for the reason `replay` gives; on PostgreSQL one array per column, so the
    statement stays short (psycopg re-parses a long one's placeholders on every call)."""
    if not responses:
        return
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (scope, key, digest, status, ops.adapt_json_value(body, None), now)
        for key, digest, status, body in responses
    ]
    columns = f"(scope, {_KEY}, request_hash, response_status, response_body, created_at)"
    if connection.vendor == "postgresql":
        fields = [
            IdempotencyRecord._meta.get_field(name)
            for name in ("scope", "key", "request_hash", "response_status", "response_body")
        ]
        arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)
        sql = f"INSERT INTO {_table()} {columns} SELECT *, %s FROM unnest({arrays})"  # noqa: S608
        # The time is the SELECT list's placeholder, before unnest's arrays.
        params: list[Any] = [now]
        params += [list(column) for column in zip(*(row[:5] for row in rows), strict=True)]
    else:
        marks = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
        sql = f"INSERT INTO {_table()} {columns} VALUES {marks}"  # noqa: S608
        params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
