"""PostgreSQL for the benchmark: its scratch databases, and pgbench as the reference."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit


class BenchError(Exception):
    """The benchmark cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Database:
    """A database on a PostgreSQL server, from a `postgres://` URL."""

    url: str
    host: str
    port: int
    user: str
    password: str
    name: str

    @classmethod
    def scratch(cls, url: str) -> Database:
        """The benchmark's own database: its name must say "bench", since it is dropped."""
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise BenchError(f"--database-url must be a postgres:// URL, not {url!r}")
        name = unquote(parts.path.lstrip("/"))
        if "bench" not in name:
            # Dropped and created: never let a typo point this at real data.
            raise BenchError(f"the benchmark's database name must contain 'bench', not {name!r}")
        return cls(
            url=url,
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            name=name,
        )

    def other(self, name: str) -> Database:
        """The same server and credentials, another database."""
        parts = urlsplit(self.url)
        return Database(
            url=urlunsplit(parts._replace(path="/" + name)),
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            name=name,
        )

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def libpq_env(self) -> dict[str, str]:
        """PG* variables for pgbench (a password stays out of the command line)."""
        env = {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def recreate(self) -> None:
        """Drop (closing its connections) and create this database, empty."""
        from psycopg import sql

        with self.other("postgres").connect() as conn:
            name = sql.Identifier(self.name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def drop(self) -> None:
        from psycopg import sql

        with self.other("postgres").connect() as conn:
            name = sql.Identifier(self.name)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))

    def count(self, table: str) -> int:
        from psycopg import sql

        with self.connect() as conn:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
        return int(row[0])

    def server_version(self) -> str:
        with self.other("postgres").connect() as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])


def pgbench_tps(output: str) -> float:
    """The tps pgbench reports (without the initial connection time)."""
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output) or re.search(
        r"tps = ([\d.]+)", output
    )
    if not match:
        raise BenchError(f"could not read pgbench's tps:\n{output[-2000:]}")
    return float(match.group(1))


def pgbench_latency_ms(output: str) -> float | None:
    match = re.search(r"latency average = ([\d.]+) ms", output)
    return float(match.group(1)) if match else None
