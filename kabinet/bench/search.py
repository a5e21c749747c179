"""`kabinet bench search`: catalog search under concurrent load, against PostgreSQL (issue 6).

One run:

1. creates a scratch database (its name must contain "bench"; dropped first if it exists)
   and migrates it;
2. in a subprocess inside that database (`python -m kabinet.bench.search prepare`): loads
   the demo catalog (`kabinet.pharma.catalog.demo.load_catalog`), signs in a partner with
   the catalog authority, builds the query mix from the loaded catalog — full names,
   prefixes as typed so far, typos, the wrong keyboard layout, МНН, manufacturers,
   barcodes and their prefixes —
   times `search.suggest` (what search.json calls) on it with no HTTP and no load, and
   keeps PostgreSQL's plan of a typo query to show which indexes answer it;
3. starts the production server (`kabinet serve`: granian, a generated SECRET_KEY, no
   DEBUG) on a free loopback port, with Redis (`--redis-url`, a spare database number) as
   production has it: the cache, and with it the sessions read from the cache
   (`cached_db`) — every cabinet request reads its session;
4. runs `--rounds` rounds, each of: `--clients` concurrent keep-alive clients sending the
   query mix to GET /pharma/cabinet/catalog/search.json with the partner's session cookie
   for `--seconds`, then the same clients on /healthz for as long — the reference, the
   cost of a request that does nothing, measured on the same machine in the same minute;
5. prints every round, then the medians, the ratio to the reference, and whether search
   p95 stays within the target (≤ 50 ms); stops the server and drops the database — also
   on Ctrl-C, SIGTERM or a failure.

The load generator is Python (threads in two processes): its CPU comes out of the same
cores as the server's and is shown. Figures on a shared 2-core machine are noisy: read
the medians and the ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from kabinet.bench import load, system
from kabinet.bench.pg import BenchError, Database
from kabinet.bench.pos import Output, _sigterm_as_interrupt, ms, server_env, statuses_text
from kabinet.pharma.catalog.layout import to_latin

__all__ = ["BenchError", "Options", "run"]

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kabinet_bench_search"
#: A spare Redis database: the benchmark writes its partner's session there and deletes it.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
#: The target of issue 6: search p95 under concurrent load on the 2-core machine.
TARGET_P95_MS = 50
SEARCH_PATH = "/pharma/cabinet/catalog/search.json"
REFERENCE_PATH = "/healthz"
SAMPLES_KEPT = 3
KINDS = ("name", "prefix", "typo", "layout", "inn", "manufacturer", "barcode", "barcode prefix")
_RUSSIAN_VOWELS = "аеиоуыэюя"


@dataclass(frozen=True)
class Options:
    seconds: int = 15
    clients: int = 8
    rounds: int = 3
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL  # "" for none: local-memory cache, database sessions
    # `kabinet serve`'s defaults on this 2-core machine (a worker per core, 4 threads each),
    # as the POS benchmark: the benchmark measures what production runs.
    workers: int = 2
    threads: int = 4
    products: int = 20_000
    queries: int = 800
    warmup: int = 3

    def check(self) -> None:
        if min(self.rounds, self.seconds, self.clients, self.workers, self.threads) < 1:
            raise BenchError("--rounds, --seconds, --clients, --workers, --threads: ≥ 1")
        if self.products < 100 or self.queries < len(KINDS):
            raise BenchError(f"--products ≥ 100 and --queries ≥ {len(KINDS)}")


def add_arguments(sub: Any) -> None:
    """The `search` subcommand of `kabinet bench`."""
    bench = sub.add_parser("search", help="catalog search under concurrent load")
    defaults = Options()
    bench.add_argument("--seconds", type=int, default=defaults.seconds, help="per run")
    bench.add_argument("--clients", type=int, default=defaults.clients, help="concurrent users")
    bench.add_argument("--rounds", type=int, default=defaults.rounds)
    bench.add_argument(
        "--database-url",
        default=defaults.database_url,
        help="a scratch PostgreSQL database (name must contain 'bench'); dropped and created, "
        "and dropped again at the end",
    )
    bench.add_argument(
        "--redis-url",
        default=defaults.redis_url,
        help="the server's REDIS_URL (cache and sessions), a spare database; '' for none",
    )
    bench.add_argument("--workers", type=int, default=defaults.workers, help="granian workers")
    bench.add_argument(
        "--threads", type=int, default=defaults.threads, help="granian threads per worker"
    )
    bench.add_argument("--products", type=int, default=defaults.products)
    bench.add_argument(
        "--queries", type=int, default=defaults.queries, help="size of the query mix"
    )
    bench.add_argument(
        "--warmup", type=int, default=defaults.warmup, help="seconds of load before round 1"
    )


def options_from(values: dict[str, Any]) -> Options:
    return Options(
        seconds=values["seconds"],
        clients=values["clients"],
        rounds=values["rounds"],
        database_url=values["database_url"],
        redis_url=values["redis_url"],
        workers=values["workers"],
        threads=values["threads"],
        products=values["products"],
        queries=values["queries"],
        warmup=values["warmup"],
    )


# ------------------------------------------------------------------------- the query mix


def typo(word: str, rng: random.Random) -> str:
    """`word` with one inner vowel replaced by another: «нурофен» → «нурафен»."""
    inner = [i for i, c in enumerate(word) if 0 < i < len(word) - 1 and c in _RUSSIAN_VOWELS]
    if len(word) < 5 or not inner:
        return word
    at = rng.choice(inner)
    other = rng.choice([v for v in "аеиоу" if v != word[at]])
    return word[:at] + other + word[at + 1 :]


def query_mix(
    products: Sequence[dict[str, str]], *, count: int, rng: random.Random
) -> list[tuple[str, str]]:
    """(kind, query) pairs in equal shares of `KINDS`, drawn from `products`.

    Each product is {"trade_name", "inn_name", "manufacturer", "barcode"}; queries are what
    a pharmacist types: lower or mixed case, a name's first word.
    """
    mix: list[tuple[str, str]] = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        product = rng.choice(products)
        first = product["trade_name"].split()[0]
        if kind == "name":
            query = product["trade_name"]
        elif kind == "prefix":
            query = first[: rng.randint(3, max(3, min(6, len(first))))].lower()
        elif kind == "typo":
            query = typo(first.lower(), rng)
        elif kind == "layout":
            query = to_latin(first.lower())
        elif kind == "inn":
            query = (product["inn_name"] or product["trade_name"]).lower()
        elif kind == "manufacturer":
            query = product["manufacturer"]
        elif kind == "barcode":
            query = product["barcode"] or first
        else:
            query = product["barcode"][:8] or first
        mix.append((kind, query))
    return mix


def search_path(query: str) -> str:
    return f"{SEARCH_PATH}?{urlencode({'q': query})}"


# ------------------------------------------------------- inside the benchmark's database


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kabinet.config.settings")
    import django

    django.setup()


def _partner_cookie() -> tuple[str, str]:
    """A partner with the catalog authority, signed in: the session cookie's name and value."""
    from datetime import date

    from django.conf import settings
    from django.test import Client

    from kabinet.accounts.models import User
    from kabinet.pharma.models import Authority, Organisation, OrganisationStatus, PartnerUser

    org = Organisation.objects.create(
        name="ООО «Бенчмарк»",
        inn="7707083893",
        kpp="773601001",
        ogrn="1027700132195",
        status=OrganisationStatus.ACTIVE,
        contract_number="Б-1",
        contract_date=date(2026, 1, 1),
    )
    user = User.objects.create_user(
        username="bench-partner", email="bench@example.ru", password=secrets.token_urlsafe(16)
    )
    PartnerUser.objects.create(
        user=user, organisation=org, full_name="Бенчмарк", authorities=[Authority.CATALOG]
    )
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return name, client.cookies[name].value


def _sessions(session_key: str) -> dict[str, Any]:
    """The server's session engine and cache, and the cache keys the session may occupy."""
    from importlib import import_module

    from django.conf import settings
    from django.core.cache import cache

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    keys = [cache.make_key(store.cache_key)] if hasattr(store, "cache_key") else []
    return {
        "engine": settings.SESSION_ENGINE,
        "cache": settings.CACHES["default"]["BACKEND"],
        "cache_keys": keys,
    }


def prepare(*, products: int, queries: int, seed: int = 1) -> dict[str, Any]:
    """Catalog, partner, query mix, direct timings and a plan (runs inside the database)."""
    _setup()
    from django.db import connection

    from kabinet.pharma.catalog.api import SUGGESTIONS
    from kabinet.pharma.catalog.models import Barcode, Product
    from kabinet.pharma.catalog.search import SearchFilters, explain_search, suggest

    timings: dict[str, float] = {}
    started = time.monotonic()
    from kabinet.pharma.catalog.demo import load_catalog

    load_catalog(products=products)
    source = "kabinet.pharma.catalog.demo.load_catalog"
    timings["catalog"] = time.monotonic() - started
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load: statistics, and the GIN indexes'
        # pending lists merged (a search otherwise scans the pending list linearly).
        cursor.execute("VACUUM ANALYZE")
    cookie = _partner_cookie()
    sessions = _sessions(cookie[1])

    rng = random.Random(seed)  # noqa: S311 — test data
    loaded = Product.objects.filter(is_active=True).count()
    sample_ids = rng.sample(
        list(Product.objects.filter(is_active=True).values_list("id", flat=True)),
        k=min(loaded, 500),
    )
    barcodes = dict(
        Barcode.objects.filter(product_id__in=sample_ids).values_list("product_id", "ean13")
    )
    sample = [
        {
            "trade_name": p.trade_name,
            "inn_name": p.inn_name,
            "manufacturer": p.manufacturer.name,
            "barcode": barcodes.get(p.pk, ""),
        }
        for p in Product.objects.filter(id__in=sample_ids).select_related("manufacturer")
    ]
    mix = query_mix(sample, count=queries, rng=rng)

    started = time.monotonic()
    # As search.json calls it.
    for _kind, query in mix[: len(KINDS) * 10]:  # warm the caches and the plans
        suggest(query, limit=SUGGESTIONS)
    by_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
    empty: Counter[str] = Counter()
    for kind, query in mix:
        begun = time.perf_counter()
        found = suggest(query, limit=SUGGESTIONS)
        by_kind[kind].append((time.perf_counter() - begun) * 1000)
        empty[kind] += not found
    timings["direct"] = time.monotonic() - started
    every = [v for values in by_kind.values() for v in values]
    typo_query = next(q for k, q in mix if k == "typo")
    return {
        "source": source,
        "products": loaded,
        "cookie": list(cookie),
        "sessions": sessions,
        "paths": [search_path(q) for _k, q in mix],
        "samples": {kind: [q for k, q in mix if k == kind][:3] for kind in KINDS},
        "direct": {
            "p50_ms": load.percentile(every, 50),
            "p95_ms": load.percentile(every, 95),
            "p99_ms": load.percentile(every, 99),
            "by_kind": {
                kind: {
                    "p50_ms": load.percentile(values, 50),
                    "p95_ms": load.percentile(values, 95),
                    "empty": empty[kind],
                    "count": len(values),
                }
                for kind, values in by_kind.items()
            },
        },
        "plan_query": typo_query,
        "plan": explain_search(query=typo_query, filters=SearchFilters()),
        "timings": timings,
    }


# ------------------------------------------------------------------------ load generator


@dataclass
class LoadResult(load.LoadResult):
    """What the clients saw; `empty` counts answers that found nothing."""

    empty: int = 0

    def merge(self, other: load.LoadResult) -> None:
        super().merge(other)
        if isinstance(other, LoadResult):
            self.empty += other.empty


@dataclass(frozen=True)
class Plan:
    url: str
    paths: tuple[str, ...]
    cookie: str  # "name=value"
    seconds: float


def _client(plan: Plan, client_id: int, deadline: float, result: LoadResult, lock: Any) -> None:
    """One user on a keep-alive connection: a query, its answer, the next query."""
    parts = urlsplit(plan.url)
    mine = LoadResult()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Cookie": plan.cookie, "Accept": "application/json"}
    # Clients start at different places of the mix, so they do not send the same query.
    seq = client_id * 97
    while time.monotonic() < deadline:
        path = plan.paths[seq % len(plan.paths)]
        seq += 1
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            mine.transport_errors += 1
            if len(mine.samples) < SAMPLES_KEPT:
                mine.samples.append(f"transport: {exc!r}")
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
            continue
        mine.latencies_ms.append((time.perf_counter() - started) * 1000)
        mine.statuses[response.status] += 1
        mine.empty += data.strip() == b"[]"
        if response.status != 200 and len(mine.samples) < SAMPLES_KEPT:
            mine.samples.append(f"{response.status} {path}: {data[:200].decode(errors='replace')}")
    conn.close()
    with lock:
        result.merge(mine)


def run_load(plan: Plan, *, clients: int, processes: int = 2) -> LoadResult:
    """`clients` concurrent users over `processes` processes, for `plan.seconds`."""
    return load.fan_out(_client, LoadResult, plan, clients=clients, processes=processes)


def summarise(result: LoadResult) -> dict[str, Any]:
    requests = sum(result.statuses.values())
    return {
        "elapsed": result.elapsed,
        "requests": requests,
        "ok": result.statuses.get(200, 0),
        "empty": result.empty,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "transport_errors": result.transport_errors,
        "p50_ms": load.percentile(result.latencies_ms, 50),
        "p95_ms": load.percentile(result.latencies_ms, 95),
        "p99_ms": load.percentile(result.latencies_ms, 99),
        "samples": result.samples,
    }


# ----------------------------------------------------------------------------- the run


@dataclass
class Outcome:
    """One load run: rate of 200 answers, latency, statuses, CPU."""

    rate: float
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    statuses: dict[str, int] = field(default_factory=dict)
    empty_share: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Outcome:
        statuses = dict(summary["statuses"])
        if summary["transport_errors"]:
            statuses["transport errors"] = summary["transport_errors"]
        return cls(
            rate=summary["ok"] / summary["elapsed"] if summary["elapsed"] else 0.0,
            p50_ms=summary["p50_ms"],
            p95_ms=summary["p95_ms"],
            p99_ms=summary["p99_ms"],
            statuses=statuses,
            empty_share=summary["empty"] / summary["requests"] if summary["requests"] else 0.0,
            samples=list(summary["samples"]),
        )

    def cpu_text(self) -> str:
        return "CPU cores: " + ", ".join(f"{k} {v:.2f}" for k, v in self.cpu.items())


@dataclass
class Bench:
    opts: Options
    out: Output
    db: Database
    work: Path
    env: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    server: subprocess.Popen[Any] | None = None
    children: list[subprocess.Popen[Any]] = field(default_factory=list)
    #: Cores each process group used during the last `call`.
    last_cpu: dict[str, float] = field(default_factory=dict)
    #: Redis keys the partner's session may occupy, deleted at the end.
    cache_keys: list[str] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    @property
    def data_file(self) -> Path:
        return self.work / "search.json"

    def child_env(self) -> dict[str, str]:
        """The production server's environment (as the POS bench), sessions as configured here."""
        env = server_env(database_url=self.db.url, work=self.work)
        env.pop("REDIS_URL", None)
        if self.opts.redis_url:
            env["REDIS_URL"] = self.opts.redis_url
        return env

    def call(self, cmd: list[str], *, what: str, timeout: float) -> str:
        proc = subprocess.Popen(  # noqa: S603 — our own argv
            cmd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.children.append(proc)
        server_pid = self.server.pid if self.server else None
        meter = system.CpuMeter(
            {
                "server": lambda procs: system.tree(procs, server_pid),
                "postgres": system.postgres_processes,
                "load": lambda procs: system.tree(procs, proc.pid),
            }
        )
        try:
            with meter:
                stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            system.stop(proc)
            raise BenchError(f"{what} did not finish in {timeout:.0f} s") from exc
        finally:
            self.children.remove(proc)
        if proc.returncode != 0:
            tail = "\n".join((stdout + stderr).strip().splitlines()[-15:])
            raise BenchError(f"{what} failed (exit {proc.returncode}):\n{tail}")
        self.last_cpu = meter.used
        return stdout

    def prepare(self) -> dict[str, Any]:
        python = sys.executable
        started = time.monotonic()
        self.db.recreate()
        self.env = self.child_env()
        self.call(
            [python, "-m", "kabinet.cli", "migrate", "--no-input"], what="migrate", timeout=900
        )
        self.say(f"database {self.db.name} migrated in {time.monotonic() - started:.0f} s")
        cmd = [python, "-m", "kabinet.bench.search", "prepare", "--out", str(self.data_file)]
        cmd += ["--products", str(self.opts.products), "--queries", str(self.opts.queries)]
        self.call(cmd, what="preparing the catalog", timeout=1800)
        return json.loads(self.data_file.read_text())

    def start_server(self) -> None:
        try:
            self.server, self.base_url = system.start_server(
                env=self.env, work=self.work, workers=self.opts.workers, threads=self.opts.threads
            )
        except RuntimeError as exc:
            raise BenchError(str(exc)) from None
        self.say(f"server: kabinet serve at {self.base_url}, ready")

    def load(self, target: str, seconds: int) -> Outcome:
        cmd = [sys.executable, "-m", "kabinet.bench.search", "load", "--url", self.base_url]
        cmd += ["--data", str(self.data_file), "--target", target, "--seconds", str(seconds)]
        cmd += ["--clients", str(self.opts.clients)]
        stdout = self.call(cmd, what=f"the load on {target}", timeout=seconds + 120)
        outcome = Outcome.from_summary(json.loads(stdout.strip().splitlines()[-1]))
        outcome.cpu = self.last_cpu
        return outcome


def summary_lines(*, searches: list[Outcome], references: list[Outcome]) -> list[str]:
    """Medians over the rounds, the ratio to the reference (per round, then the median)."""
    ratio = load.median(
        [s.rate / r.rate for s, r in zip(searches, references, strict=True) if r.rate]
    )
    p95 = load.median([o.p95_ms for o in searches])
    header = f"{'':<22}{'requests/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    lines = [header, "-" * len(header)]
    for label, outcomes in (("search.json", searches), ("/healthz (reference)", references)):
        lines.append(
            f"{label:<22}{load.median([o.rate for o in outcomes]):>11.0f}"
            f"{ms(load.median([o.p50_ms for o in outcomes])):>9}"
            f"{ms(load.median([o.p95_ms for o in outcomes])):>9}"
            f"{ms(load.median([o.p99_ms for o in outcomes])):>9}"
        )
    met = not math.isnan(p95) and p95 <= TARGET_P95_MS
    lines.append(f"search requests/s ÷ reference requests/s: {ratio:.2f}")
    lines.append(
        f"target: search p95 ≤ {TARGET_P95_MS} ms under load — {'met' if met else 'NOT met'}"
    )
    return lines


def run(opts: Options, out: Output, argv: list[str]) -> int:
    """The whole benchmark; 0 when it ran and search met its target."""
    opts.check()
    db = Database.scratch(opts.database_url)
    with (
        tempfile.TemporaryDirectory(prefix="kabinet-bench-search-") as tmp,
        _sigterm_as_interrupt(),
    ):
        bench = Bench(opts=opts, out=out, db=db, work=Path(tmp))
        try:
            return _run(bench, argv)
        except KeyboardInterrupt:
            bench.say("\ninterrupted: cleaning up")
            return 130
        finally:
            for child in list(bench.children):
                system.stop(child)
            system.stop(bench.server)
            try:
                bench.db.drop()
            except Exception as exc:  # report it and go on cleaning up
                bench.say(f"could not drop database {bench.db.name}: {exc}")
            if opts.redis_url and bench.cache_keys:
                try:
                    _redis(opts.redis_url).delete(*bench.cache_keys)
                except Exception as exc:  # report it and go on cleaning up
                    bench.say(f"could not delete the session from Redis: {exc}")


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def _run(bench: Bench, argv: list[str]) -> int:
    opts, say = bench.opts, bench.say
    say("kabinet bench search — catalog search under load on PostgreSQL")
    say("command: kabinet " + " ".join(shlex.quote(a) for a in argv))
    try:
        version = bench.db.server_version()
    except Exception as exc:
        raise BenchError(
            f"cannot reach PostgreSQL at {bench.db.host}:{bench.db.port}: {exc}"
        ) from exc
    say("machine: " + "; ".join(system.facts(version)))
    if opts.redis_url:
        try:
            _redis(opts.redis_url).ping()
        except Exception as exc:
            raise BenchError(
                f"cannot reach Redis at {opts.redis_url}: {exc} (--redis-url '' runs without)"
            ) from exc
    say(
        f"setup: granian --workers {opts.workers} --threads {opts.threads}; {opts.clients} "
        f"clients (Python, 2 processes), keep-alive; {opts.seconds} s per run, {opts.rounds} "
        f"rounds; {opts.products} products, a mix of {opts.queries} queries"
    )
    say()
    data = bench.prepare()
    sessions = data["sessions"]
    bench.cache_keys = sessions["cache_keys"]
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in data["timings"].items())
    say(f"catalog: {data['products']} active products from {data['source']} ({timings})")
    cache = f"{sessions['cache']} at {opts.redis_url}" if opts.redis_url else sessions["cache"]
    say(f"sessions: {sessions['engine']}; cache: {cache}")
    say("query mix, equal shares; e.g.:")
    for kind, queries in data["samples"].items():
        say(f"  {kind:<15} " + ", ".join(f"«{q}»" for q in queries))
    direct = data["direct"]
    say(
        "search.suggest() as search.json calls it, alone (no HTTP, no load): "
        f"p50 {ms(direct['p50_ms'])} ms, "
        f"p95 {ms(direct['p95_ms'])} ms, p99 {ms(direct['p99_ms'])} ms"
    )
    for kind, figures in direct["by_kind"].items():
        say(
            f"  {kind:<15} p50 {ms(figures['p50_ms']):>6} ms  p95 {ms(figures['p95_ms']):>6} ms"
            f"  nothing found {figures['empty']}/{figures['count']}"
        )
    say(f"plan of the typo query «{data['plan_query']}» (EXPLAIN ANALYZE):")
    for line in data["plan"].splitlines():
        say("  " + line)
    say()
    bench.start_server()
    if opts.warmup:
        bench.load("search", opts.warmup)
        say(f"warm-up: {opts.warmup} s of search, not counted")
    say()

    searches: list[Outcome] = []
    references: list[Outcome] = []
    pad = " " * 13
    for number in range(1, opts.rounds + 1):
        label = f"round {number}/{opts.rounds}"
        found = bench.load("search", opts.seconds)
        searches.append(found)
        say(
            f"{label}  search   {found.rate:7.1f} req/s  p50 {ms(found.p50_ms)} ms  "
            f"p95 {ms(found.p95_ms)} ms  p99 {ms(found.p99_ms)} ms  "
            f"[{statuses_text(found.statuses)}; nothing found {found.empty_share:.0%}]"
        )
        say(pad + found.cpu_text())
        for sample in found.samples:
            say(f"{pad}e.g. {sample}")
        reference = bench.load("reference", opts.seconds)
        references.append(reference)
        say(
            f"{label}  /healthz {reference.rate:7.1f} req/s  p50 {ms(reference.p50_ms)} ms  "
            f"p95 {ms(reference.p95_ms)} ms  p99 {ms(reference.p99_ms)} ms  "
            f"[{statuses_text(reference.statuses)}]"
        )
        say(pad + reference.cpu_text())

    say()
    say(f"medians of {opts.rounds} rounds, {opts.clients} concurrent clients")
    for line in summary_lines(searches=searches, references=references):
        say("  " + line)
    say(
        f"  CPU cores (the machine has {os.cpu_count()}): server = granian and its workers, "
        "load = the load generator, other = anything else on the machine meanwhile"
    )
    say()
    p95 = load.median([o.p95_ms for o in searches])
    return 0 if p95 <= TARGET_P95_MS else 1


# ------------------------------------------------------------------------- subprocesses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kabinet.bench.search")
    sub = parser.add_subparsers(dest="step", required=True)
    prep = sub.add_parser("prepare", help="fill the catalog and write the query mix")
    prep.add_argument("--products", type=int, required=True)
    prep.add_argument("--queries", type=int, required=True)
    prep.add_argument("--out", required=True)
    drive = sub.add_parser("load", help="drive the server")
    drive.add_argument("--url", required=True)
    drive.add_argument("--data", required=True)
    drive.add_argument("--target", choices=["search", "reference"], required=True)
    drive.add_argument("--seconds", type=float, required=True)
    drive.add_argument("--clients", type=int, required=True)
    args = parser.parse_args(argv)
    if args.step == "prepare":
        data = prepare(products=args.products, queries=args.queries)
        Path(args.out).write_text(json.dumps(data, ensure_ascii=False))
        return 0
    data = json.loads(Path(args.data).read_text())
    name, value = data["cookie"]
    paths = tuple(data["paths"]) if args.target == "search" else (REFERENCE_PATH,)
    plan = Plan(url=args.url, paths=paths, cookie=f"{name}={value}", seconds=args.seconds)
    result = run_load(plan, clients=args.clients)
    sys.stdout.write(json.dumps(summarise(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
