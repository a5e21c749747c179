"""`kabinet bench pos`: purchases per second through the till API, against PostgreSQL.

One run:

1. creates a scratch database (its name must contain "bench"; dropped first if it exists),
   migrates it (`kabinet migrate`) and fills it (`python -m kabinet.bench.data`): stores
   with one terminal each, members with active cards and points; and pgbench's database;
2. starts the production server (`kabinet serve`: granian, a generated SECRET_KEY, no
   DEBUG) on a free loopback port and waits for /readyz;
3. counts the SQL statements of one purchase and of one batch (in a subprocess);
4. runs `--rounds` rounds, each of: single commits for `--seconds` with `--clients`
   concurrent keep-alive clients (wrk; a Python generator if wrk is missing), the batch
   endpoint for as long, and pgbench's tpcb-like load on the same PostgreSQL for as long
   — interleaved, so that each figure and its reference see the same machine;
5. prints every round, then the medians and the ratio to pgbench's tps, with the CPU each
   process group used (the load generator shares the cores with the server and the
   database; its share is shown rather than hidden, and so is what else ran meanwhile);
6. runs `kabinet loyalty reconcile` on the result, stops the server and drops the
   databases — also on Ctrl-C, SIGTERM or a failure.

Figures on a shared 2-core machine are noisy: read the medians, and the ratios to
pgbench, which moves with the machine.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kabinet.bench import load, system
from kabinet.bench.pg import BenchError, Database, pgbench_latency_ms, pgbench_tps

__all__ = ["BenchError", "Options", "run"]

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kabinet_bench"
#: Targets from issue 3, on the 2-core machine with server, database and load together.
TARGET_SINGLE_PER_S = 500
TARGET_SINGLE_P99_MS = 100
TARGET_BATCH_PER_S = 3000
WRK_SCRIPT = Path(__file__).with_name("wrk_purchase.lua")
PURCHASE_TABLE = "loyalty_purchase"
# Settings of a developer's shell or of the demo that must not reach the production server.
_NOT_INHERITED = {
    "SECRET_KEY",
    "DATABASE_URL",
    "DEBUG",
    "KABINET_VAR_DIR",
    "KABINET_OUTBOX",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "WEB_WORKERS",
    "WEB_THREADS",
    "HOST",
    "PORT",
    "DJANGO_SETTINGS_MODULE",
}


def server_env(*, database_url: str, work: Path) -> dict[str, str]:
    """The production server's environment: a new real key, no DEBUG, HTTP on loopback."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env.update(
        DJANGO_SETTINGS_MODULE="kabinet.config.settings",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database_url,
        KABINET_HTTPS="false",
        KABINET_VAR_DIR=str(work / "var"),
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    return env


class Output(Protocol):
    """Where the report goes: a text stream, or a management command's stdout."""

    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


@dataclass(frozen=True)
class Options:
    seconds: int = 20
    clients: int = 16
    rounds: int = 3
    batch_size: int = 200
    batch_clients: int = 4
    database_url: str = DEFAULT_DATABASE_URL
    # The README's production command (`kabinet serve --workers 2 --threads 4`): the
    # benchmark measures what production runs. A worker is a process with its own GIL, so
    # two use both cores; 2 × 4 threads hold as many connections as 1 × 8 did.
    workers: int = 2
    threads: int = 4
    stores: int = 32
    members: int = 2000
    warmup: int = 3
    load: str = "auto"  # "wrk", "python" or "auto" (wrk when installed)
    redeem_share: float = 0.2
    pgbench_scale: int = 10

    def check(self) -> None:
        if min(self.rounds, self.seconds, self.clients, self.batch_clients, self.workers) < 1:
            raise BenchError("--rounds, --seconds, --clients, --batch-clients, --workers: ≥ 1")
        if self.threads < 1 or self.stores < 1 or self.members < 1:
            raise BenchError("--threads, --stores and --members must be at least 1")
        if not 1 <= self.batch_size <= 1000:
            raise BenchError("--batch-size must be between 1 and 1000 (the API's limit)")
        if not 0 <= self.redeem_share <= 1:
            raise BenchError("--redeem-share is a share: between 0 and 1")


@dataclass
class Outcome:
    """One load run: its rate, latency, status counts and CPU."""

    rate: float
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    statuses: dict[str, int] = field(default_factory=dict)
    #: Cores each process group used during the run (see `system.CpuMeter`).
    cpu: dict[str, float] = field(default_factory=dict)
    note: str = ""
    samples: list[str] = field(default_factory=list)

    @property
    def server_cpu_ms(self) -> float:
        """Server CPU per purchase, in milliseconds (what a purchase costs the app server)."""
        if not self.rate or "server" not in self.cpu:
            return math.nan
        return self.cpu["server"] / self.rate * 1000

    def cpu_text(self) -> str:
        used = ", ".join(f"{name} {value:.2f}" for name, value in self.cpu.items())
        text = f"CPU cores: {used}"
        if not math.isnan(self.server_cpu_ms) and self.cpu.get("server"):
            text += f"; server CPU per purchase {self.server_cpu_ms:.1f} ms"
        return text


# --------------------------------------------------------------------------- the run


@dataclass
class Bench:
    """The state of one `kabinet bench pos` run, and its three kinds of load."""

    opts: Options
    out: Output
    db: Database
    pgbench_db: Database
    work: Path
    load_tool: str
    env: dict[str, str] = field(default_factory=dict)
    base_url: str = ""
    server: subprocess.Popen[Any] | None = None
    children: list[subprocess.Popen[Any]] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    @property
    def data_file(self) -> Path:
        return self.work / "data.json"

    @property
    def wrk_data_file(self) -> Path:
        return self.work / "data.txt"

    def child_env(self) -> dict[str, str]:
        return server_env(database_url=self.db.url, work=self.work)

    def check_call(self, cmd: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
        """Run a step to its end; its output, or BenchError with the tail of it."""
        proc = self.spawn(cmd, env=env)
        return self.finish(proc, what, timeout=1800)

    def spawn(self, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        proc = subprocess.Popen(  # noqa: S603 — our own argv
            cmd,
            env=env or self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Its own session: Ctrl-C reaches us alone, and we stop it and its children.
            start_new_session=True,
        )
        self.children.append(proc)
        return proc

    def finish(self, proc: subprocess.Popen[str], what: str, timeout: float) -> str:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            system.stop(proc)
            raise BenchError(f"{what} did not finish in {timeout:.0f} s") from exc
        finally:
            self.children.remove(proc)
        if proc.returncode != 0:
            tail = "\n".join((stdout + stderr).strip().splitlines()[-15:])
            raise BenchError(f"{what} failed (exit {proc.returncode}):\n{tail}")
        return stdout

    def measured(
        self, cmd: list[str], what: str, timeout: float, **env: str
    ) -> tuple[str, dict[str, float]]:
        """Run a load to its end; its output and the CPU each process group used."""
        proc = self.spawn(cmd, env={**self.env, **env} if env else None)
        server_pid = self.server.pid if self.server else None
        meter = system.CpuMeter(
            {
                "server": lambda procs: system.tree(procs, server_pid),
                "postgres": system.postgres_processes,
                "load": lambda procs: system.tree(procs, proc.pid),
            }
        )
        with meter:
            stdout = self.finish(proc, what, timeout)
        return stdout, meter.used

    # -- the three loads ------------------------------------------------------------------

    def single(self, seconds: int, run_id: str) -> Outcome:
        """Single commits: `--clients` tills, each sending its next purchase on an answer."""
        if self.load_tool == "wrk":
            threads = str(min(2, self.opts.clients))
            cmd = ["wrk", "-t", threads, "-c", str(self.opts.clients), "-d", f"{seconds}s"]
            cmd += ["--timeout", "10s", "-s", str(WRK_SCRIPT), self.base_url, "--"]
            cmd += [str(self.wrk_data_file), run_id, str(self.opts.redeem_share)]
        else:
            cmd = self.python_load("single", seconds, self.opts.clients, run_id)
        before = self.db.count(PURCHASE_TABLE)
        stdout, cpu = self.measured(cmd, "the load generator", seconds + 120)
        if self.load_tool == "wrk":
            outcome = wrk_outcome(stdout)
        else:
            outcome = python_outcome(json.loads(stdout.strip().splitlines()[-1]), batch=False)
        outcome.cpu = cpu
        outcome.note = f"rows written {self.db.count(PURCHASE_TABLE) - before}"
        return outcome

    def batch(self, seconds: int, run_id: str) -> Outcome:
        """The batch endpoint: `--batch-clients` senders of `--batch-size` receipts each."""
        cmd = self.python_load("batch", seconds, self.opts.batch_clients, run_id)
        before = self.db.count(PURCHASE_TABLE)
        stdout, cpu = self.measured(cmd, "the batch load generator", seconds + 600)
        outcome = python_outcome(json.loads(stdout.strip().splitlines()[-1]), batch=True)
        outcome.cpu = cpu
        written = f"rows written {self.db.count(PURCHASE_TABLE) - before}"
        outcome.note = f"{written}; {outcome.note}" if outcome.note else written
        return outcome

    def pgbench(self, seconds: int) -> Outcome:
        """pgbench's default (tpcb-like) script, as many clients, on the same server."""
        jobs = str(min(2, self.opts.clients))
        cmd = ["pgbench", "-c", str(self.opts.clients), "-j", jobs, "-T", str(seconds)]
        cmd.append(self.pgbench_db.name)
        stdout, cpu = self.measured(cmd, "pgbench", seconds + 300, **self.pgbench_db.libpq_env())
        latency = pgbench_latency_ms(stdout)
        note = f"latency average {latency:.1f} ms" if latency is not None else ""
        return Outcome(rate=pgbench_tps(stdout), cpu=cpu, note=note)

    def python_load(self, mode: str, seconds: int, clients: int, run_id: str) -> list[str]:
        return [
            *(sys.executable, "-m", "kabinet.bench.load", "--url", self.base_url),
            *("--mode", mode, "--data", str(self.data_file), "--seconds", str(seconds)),
            *("--clients", str(clients), "--processes", str(min(2, clients))),
            *("--run-id", run_id, "--redeem-share", str(self.opts.redeem_share)),
            *("--batch-size", str(self.opts.batch_size)),
        ]

    # -- set-up ---------------------------------------------------------------------------

    def prepare(self) -> None:
        opts, python = self.opts, sys.executable
        started = time.monotonic()
        self.db.recreate()
        self.pgbench_db.recreate()
        self.env = self.child_env()
        self.check_call([python, "-m", "kabinet.cli", "migrate", "--no-input"], what="migrate")
        self.say(f"database {self.db.name} migrated in {time.monotonic() - started:.0f} s")

        started = time.monotonic()
        self.check_call(
            [
                *(python, "-m", "kabinet.bench.data", "prepare", "--stores", str(opts.stores)),
                *("--members", str(opts.members), "--out", str(self.data_file)),
            ],
            what="preparing the data",
        )
        data = json.loads(self.data_file.read_text())
        self.wrk_data_file.write_text(
            "".join(f"token {t}\n" for t in data["tokens"])
            + "".join(f"card {c}\n" for c in data["cards"])
        )
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in data["timings"].items())
        self.say(
            f"data: {len(data['tokens'])} stores with a terminal each, {len(data['cards'])} "
            f"members, in {time.monotonic() - started:.0f} s ({steps})"
        )

        started = time.monotonic()
        self.check_call(
            ["pgbench", "-i", "-q", "-s", str(opts.pgbench_scale), self.pgbench_db.name],
            what="pgbench -i",
            env={**os.environ, **self.pgbench_db.libpq_env()},
        )
        self.say(
            f"pgbench database {self.pgbench_db.name} (scale {opts.pgbench_scale}) "
            f"initialised in {time.monotonic() - started:.0f} s"
        )

    def start_server(self) -> None:
        try:
            self.server, self.base_url = system.start_server(
                env=self.env, work=self.work, workers=self.opts.workers, threads=self.opts.threads
            )
        except RuntimeError as exc:
            raise BenchError(str(exc)) from None
        self.say(f"server: kabinet serve at {self.base_url}, ready")

    def count_statements(self) -> dict[str, Any]:
        stdout = self.check_call(
            [
                sys.executable,
                "-m",
                "kabinet.bench.data",
                "statements",
                "--data",
                str(self.data_file),
            ],
            what="counting SQL statements",
        )
        counted: dict[str, Any] = json.loads(stdout)
        self.say("SQL statements per request, counted in-process (Django test client):")
        self.say(f"  purchase: {statements_text(counted['purchase'])}")
        self.say(f"  purchase with redemption: {statements_text(counted['purchase_redeem'])}")
        for sql in counted["purchase_redeem"]["sql"]:
            self.say(f"      {sql}")
        batch = counted["batch"]
        self.say(
            f"  batch of {batch['items']}: {statements_text(batch)}, "
            f"{batch['total'] / batch['items']:.1f} per item"
        )
        return counted

    def reconcile(self) -> bool:
        done = subprocess.run(
            [sys.executable, "-m", "kabinet.cli", "loyalty", "reconcile"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        verdict = (done.stdout + done.stderr).strip().splitlines()
        last = verdict[-1] if verdict else "(no output)"
        self.say(f"kabinet loyalty reconcile: {last} (exit {done.returncode})")
        return done.returncode == 0


# ----------------------------------------------------------------------------- parsing


def wrk_outcome(stdout: str) -> Outcome:
    """wrk's KABINET-RESULT line (see wrk_purchase.lua): only 201s count as purchases."""
    result = None
    samples = []
    for line in stdout.splitlines():
        if line.startswith("KABINET-RESULT "):
            result = json.loads(line.removeprefix("KABINET-RESULT "))
        elif line.startswith("KABINET-SAMPLE "):
            samples.append(line.removeprefix("KABINET-SAMPLE "))
    if result is None:
        raise BenchError(f"wrk printed no result:\n{stdout[-2000:]}")
    statuses = {str(k): int(v) for k, v in result["statuses"].items()}
    statuses |= {f"socket {k}": v for k, v in result["errors"].items() if v and k != "status"}
    return Outcome(
        rate=statuses.get("201", 0) / (result["duration_us"] / 1e6),
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        statuses=statuses,
        samples=samples,
    )


def python_outcome(result: dict[str, Any], *, batch: bool) -> Outcome:
    statuses = dict(result["statuses"])
    if result["transport_errors"]:
        statuses["transport errors"] = result["transport_errors"]
    outcomes = result.get("outcomes") or {}
    note = ""
    if batch and outcomes:
        note = "items " + ", ".join(f"{k}×{v}" for k, v in sorted(outcomes.items()))
    return Outcome(
        rate=result["items"] / result["elapsed"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        statuses=statuses,
        note=note,
        samples=list(result["samples"]),
    )


# ---------------------------------------------------------------------------- reporting


def ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}"


def statuses_text(statuses: dict[str, int]) -> str:
    return ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items())) or "none"


def statements_text(counted: dict[str, Any]) -> str:
    return f"{counted['total']} ({counted['total'] - counted['control']} without BEGIN/COMMIT)"


def summary_lines(
    *, singles: list[Outcome], batches: list[Outcome], pgbenches: list[Outcome], batch_size: int
) -> list[str]:
    """The medians over the rounds, the ratios to pgbench, and whether the targets are met.

    A ratio is taken per round (against that round's pgbench), then the median of those.
    """

    def ratio(outcomes: list[Outcome]) -> float:
        pairs = zip(outcomes, pgbenches, strict=True)
        return load.median([o.rate / p.rate for o, p in pairs if p.rate])

    def row(label: str, outcomes: list[Outcome], target: str, met: bool) -> str:
        return (
            f"{label:<24}{load.median([o.rate for o in outcomes]):>12.0f}"
            f"{ms(load.median([o.p50_ms for o in outcomes])):>9}"
            f"{ms(load.median([o.p99_ms for o in outcomes])):>9}"
            f"{load.median([p.rate for p in pgbenches]):>13.0f}{ratio(outcomes):>8.2f}"
            f"  {target:<24}{'yes' if met else 'NO'}"
        )

    single_rate = load.median([o.rate for o in singles])
    single_p99 = load.median([o.p99_ms for o in singles])
    batch_rate = load.median([o.rate for o in batches])
    header = (
        f"{'':<24}{'purchases/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'pgbench tps':>13}"
        f"{'ratio':>8}  {'target':<24}met"
    )
    return [
        header,
        "-" * len(header),
        row(
            "single commits",
            singles,
            f"≥ {TARGET_SINGLE_PER_S}/s, p99 ≤ {TARGET_SINGLE_P99_MS} ms",
            single_rate >= TARGET_SINGLE_PER_S and single_p99 <= TARGET_SINGLE_P99_MS,
        ),
        row(
            f"batch ({batch_size}/request)",
            batches,
            f"≥ {TARGET_BATCH_PER_S:,}/s".replace(",", " "),
            batch_rate >= TARGET_BATCH_PER_S,
        ),
    ]


# ---------------------------------------------------------------------------- entry


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Clean up on SIGTERM as on Ctrl-C."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(opts: Options, out: Output, argv: list[str]) -> int:
    """The whole benchmark; 0 when it ran and the ledger reconciles afterwards."""
    opts.check()
    db = Database.scratch(opts.database_url)
    if shutil.which("pgbench") is None:
        raise BenchError("pgbench not found: it comes with PostgreSQL (apt-get install postgresql)")
    load_tool = opts.load
    if load_tool == "auto":
        load_tool = "wrk" if shutil.which("wrk") else "python"
    if load_tool == "wrk" and shutil.which("wrk") is None:
        raise BenchError("wrk not found: apt-get install wrk (or --load python)")

    with tempfile.TemporaryDirectory(prefix="kabinet-bench-") as tmp, _sigterm_as_interrupt():
        bench = Bench(
            opts=opts,
            out=out,
            db=db,
            pgbench_db=db.other(db.name + "_pgbench"),
            work=Path(tmp),
            load_tool=load_tool,
        )
        try:
            return _run(bench, argv)
        except KeyboardInterrupt:
            bench.say("\ninterrupted: cleaning up")
            return 130
        finally:
            for child in list(bench.children):
                system.stop(child)
            system.stop(bench.server)
            for each in (bench.db, bench.pgbench_db):
                try:
                    each.drop()
                except Exception as exc:  # report it and go on cleaning up
                    bench.say(f"could not drop database {each.name}: {exc}")


def _run(bench: Bench, argv: list[str]) -> int:
    opts, say = bench.opts, bench.say
    say("kabinet bench pos — purchases through the till API on PostgreSQL")
    say("command: kabinet " + " ".join(shlex.quote(a) for a in argv))
    try:
        version = bench.db.server_version()
    except Exception as exc:
        raise BenchError(
            f"cannot reach PostgreSQL at {bench.db.host}:{bench.db.port}: {exc}"
        ) from exc
    say("machine: " + "; ".join(system.facts(version)))
    if bench.load_tool == "python":
        say(
            "note: the Python load generator drives single commits (wrk: apt-get install wrk); "
            "its CPU comes out of the same cores as the server's"
        )
    say(
        f"setup: granian --workers {opts.workers} --threads {opts.threads}; single commits: "
        f"{opts.clients} clients ({bench.load_tool}), {opts.redeem_share:.0%} redeem; batch: "
        f"{opts.batch_clients} clients × {opts.batch_size} receipts; {opts.seconds} s per run, "
        f"{opts.rounds} rounds; {opts.stores} stores, {opts.members} members; pgbench tpcb-like "
        f"-s {opts.pgbench_scale} -c {opts.clients} -j {min(2, opts.clients)}"
    )
    say()
    bench.prepare()
    bench.start_server()
    counted = bench.count_statements()
    if opts.warmup:
        bench.single(opts.warmup, "warm")
        say(f"warm-up: {opts.warmup} s of single commits, not counted")
    say()

    singles: list[Outcome] = []
    batches: list[Outcome] = []
    pgbenches: list[Outcome] = []
    tag = secrets.token_hex(3)
    pad = " " * 13
    for number in range(1, opts.rounds + 1):
        label = f"round {number}/{opts.rounds}"
        single = bench.single(opts.seconds, f"s{tag}r{number}")
        singles.append(single)
        say(
            f"{label}  single  {single.rate:8.1f} purchases/s  p50 {ms(single.p50_ms)} ms  "
            f"p99 {ms(single.p99_ms)} ms  [{statuses_text(single.statuses)}; {single.note}]"
        )
        say(pad + single.cpu_text())
        for sample in single.samples:
            say(f"{pad}e.g. {sample}")
        batch = bench.batch(opts.seconds, f"b{tag}r{number}")
        batches.append(batch)
        say(
            f"{label}  batch   {batch.rate:8.1f} purchases/s  per request: p50 {ms(batch.p50_ms)} "
            f"ms  p99 {ms(batch.p99_ms)} ms  [{statuses_text(batch.statuses)}; {batch.note}]"
        )
        say(pad + batch.cpu_text())
        for sample in batch.samples:
            say(f"{pad}e.g. {sample}")
        reference = bench.pgbench(opts.seconds)
        pgbenches.append(reference)
        say(
            f"{label}  pgbench {reference.rate:8.1f} tps          {reference.note}; ratios: "
            f"single {single.rate / reference.rate:.2f}, batch {batch.rate / reference.rate:.2f}"
        )
        say(pad + reference.cpu_text())

    say()
    say(f"medians of {opts.rounds} rounds (ratio: purchases/s ÷ pgbench tps of the same round)")
    for line in summary_lines(
        singles=singles, batches=batches, pgbenches=pgbenches, batch_size=opts.batch_size
    ):
        say("  " + line)
    per_item = counted["batch"]["total"] / counted["batch"]["items"]
    say(
        f"  SQL statements: purchase {statements_text(counted['purchase'])}, with redemption "
        f"{statements_text(counted['purchase_redeem'])}; batch {per_item:.1f} per item"
    )
    say(
        "  server CPU per purchase (median): single "
        f"{load.median([o.server_cpu_ms for o in singles]):.1f} ms, batch "
        f"{load.median([o.server_cpu_ms for o in batches]):.1f} ms per receipt"
    )
    say(f"  batch latency is per request of {opts.batch_size} receipts")
    say(
        f"  CPU cores (the machine has {os.cpu_count()}): server = granian and its workers, "
        "load = the load generator, other = anything else on the machine meanwhile"
    )
    say()
    system.stop(bench.server)
    bench.server = None
    return 0 if bench.reconcile() else 1
