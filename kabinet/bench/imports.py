"""`kabinet bench import`: a 20 000-row price file through the import, on PostgreSQL.

One run:

1. creates a scratch database (its name must contain "bench"; dropped first if it exists)
   and migrates it;
2. in a subprocess on that database (`python -m kabinet.bench.imports measure`): makes a
   catalog of `--rows` products (`kabinet.pharma.catalog.demo.load_catalog` when present, a
   quick generator otherwise), a tenth of them ЖНВЛП so that ceilings are checked, then for
   each of `--rounds` rounds writes a price file of every product as CSV and as XLSX (new
   prices each time, so every row is written) and times the import end to end — the job's
   claim, reading, every row's checks including ЖНВЛП ceilings, the writes and the job's
   progress updates — and, as the reference, a plain `COPY` of the same rows into a
   temporary table on the same server;
3. prints every round, the medians, rows per second and the ratio to `COPY`, and drops the
   database — also on Ctrl-C or a failure.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from kabinet.bench import load, system
from kabinet.bench.pg import BenchError, Database

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/kabinet_bench_import"
#: Issue 6: 20 000 rows in under a minute on the 2-core machine.
TARGET_SECONDS = 60
JNVLP_EVERY = 10
_CHUNK = 2000


class Output(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


@dataclass(frozen=True)
class Options:
    rows: int = 20_000
    rounds: int = 3
    database_url: str = DEFAULT_DATABASE_URL

    def check(self) -> None:
        if self.rows < 1 or self.rounds < 1:
            raise BenchError("--rows and --rounds must be at least 1")


def add_arguments(sub: Any) -> None:
    """The `import` subcommand of `kabinet bench`."""
    bench = sub.add_parser("import", help="a price file of --rows rows through the import")
    defaults = Options()
    bench.add_argument("--rows", type=int, default=defaults.rows)
    bench.add_argument("--rounds", type=int, default=defaults.rounds)
    bench.add_argument(
        "--database-url",
        default=defaults.database_url,
        help="a scratch PostgreSQL database (name must contain 'bench'); dropped and created, "
        "and dropped again at the end",
    )


def options_from(values: dict[str, Any]) -> Options:
    return Options(
        rows=values["rows"], rounds=values["rounds"], database_url=values["database_url"]
    )


# --------------------------------------------------------------------------- pure parts


def price_rows(
    products: Iterable[tuple[str, bool, int | None]], *, round_no: int
) -> list[tuple[str, int]]:
    """(code, price in kopecks) for every product, different in every round.

    A ЖНВЛП price stays at or under its registered price, so under any ceiling; the round
    shifts every price by a few kopecks so that each round really writes every row.
    """
    rows = []
    for index, (code, jnvlp, registered) in enumerate(products):
        if jnvlp and registered:
            kopecks = max(1, registered - round_no)
        else:
            kopecks = 5_000 + (index * 37) % 200_000 + round_no
        rows.append((code, kopecks))
    return rows


def rub(kopecks: int) -> str:
    """123,45 — the decimal comma of a Russian price list."""
    whole, frac = divmod(kopecks, 100)
    return f"{whole},{frac:02d}"


def price_csv(rows: list[tuple[str, int]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Код", "Цена"])
    writer.writerows((code, rub(kopecks)) for code, kopecks in rows)
    return out.getvalue().encode("utf-8-sig")


def price_xlsx(rows: list[tuple[str, int]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Цены")
    sheet.append(["Код", "Цена"])
    for code, kopecks in rows:
        # A number cell, as Excel stores prices; the import reads it back exactly.
        sheet.append([code, float(Decimal(kopecks) / 100)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def summary_lines(results: dict[str, list[float]], *, rows: int) -> list[str]:
    """Medians, rows/s and the ratio to COPY of the same rows."""
    copy = load.median(results["copy"])
    lines = []
    for fmt in ("csv", "xlsx"):
        seconds = load.median(results[fmt])
        verdict = "met" if seconds < TARGET_SECONDS else "NOT met"
        lines.append(
            f"{fmt.upper():4}  {seconds:7.2f} s  {rows / seconds:9.0f} rows/s  "
            f"{seconds / copy:6.1f}× COPY  (target < {TARGET_SECONDS} s: {verdict})"
        )
    lines.append(f"COPY  {copy:7.3f} s  {rows / copy:9.0f} rows/s  (reference)")
    return lines


# ------------------------------------------------------------ inside the scratch database


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kabinet.config.settings")
    import django

    django.setup()


def make_catalog(rows: int, *, seed: int = 1) -> str:
    """`rows` products, a tenth ЖНВЛП, a base price list with markups; says how it was made."""
    try:
        from kabinet.pharma.catalog.demo import load_catalog
    except ImportError:
        quick_catalog(rows, seed=seed)
        return "quick generator"
    load_catalog(products=rows)
    _base_price_list()
    return "kabinet.pharma.catalog.demo.load_catalog"


def _base_price_list() -> Any:
    from datetime import date

    from kabinet.geo.models import Region
    from kabinet.pharma.catalog.models import PriceList, WholesaleMarkup

    region = Region.objects.get(code="77")
    if not WholesaleMarkup.objects.filter(region=region).exists():
        WholesaleMarkup.objects.create(
            region=region,
            effective_from=date(2020, 1, 1),
            upto_100_percent=Decimal("20"),
            upto_500_percent=Decimal("15"),
            over_500_percent=Decimal("10"),
        )
    base = PriceList.objects.filter(is_base=True).first()
    if base is None:
        base = PriceList.objects.create(code="base", name="Базовый", is_base=True, region=region)
    return base


def quick_catalog(rows: int, *, seed: int = 1) -> None:
    """Products in bulk, without the demo's variety: what the benchmark needs and no more."""
    from django.db import transaction

    from kabinet.pharma.catalog.models import Category, Manufacturer, Product
    from kabinet.pharma.catalog.text import search_text_for

    rng = random.Random(seed)  # noqa: S311 — made-up products, not secrets
    names = ["Парацетамол", "Ибупрофен", "Амоксициллин", "Омепразол", "Лоратадин", "Метформин"]
    forms = ["таблетки", "капсулы", "раствор", "мазь"]
    with transaction.atomic():
        makers = [
            Manufacturer.objects.get_or_create(name=f"Завод {n}", defaults={"country": "Россия"})[0]
            for n in range(1, 21)
        ]
        category = Category.objects.filter(parent=None, name="Лекарственные средства").first()
        if category is None:
            category = Category.objects.create(name="Лекарственные средства", path="")
            category.path = f"{category.pk:04d}."
            category.save(update_fields=["path"])
        batch = []
        for n in range(rows):
            maker = makers[n % len(makers)]
            name = f"{rng.choice(names)} {n}"
            jnvlp = n % JNVLP_EVERY == 0
            batch.append(
                Product(
                    code=f"B{n:06d}",
                    trade_name=name,
                    inn_name=name.split()[0],
                    form=rng.choice(forms),
                    manufacturer=maker,
                    country="Россия",
                    category=category,
                    jnvlp=jnvlp,
                    registered_price_kopecks=rng.randint(50_00, 2_000_00) if jnvlp else None,
                    search_text=search_text_for(
                        trade_name=name, inn_name=name.split()[0], manufacturer=maker.name
                    ),
                )
            )
            if len(batch) == _CHUNK:
                Product.objects.bulk_create(batch)
                batch = []
        Product.objects.bulk_create(batch)
    _base_price_list()


def copy_seconds(rows: list[tuple[str, int]]) -> float:
    """The database's own speed on the same rows: COPY into a temporary table."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_prices (code text, price bigint)")
        started = time.perf_counter()
        if connection.vendor == "postgresql":
            with cursor.cursor.copy("COPY bench_prices (code, price) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:  # SQLite (the smoke test): its fastest bulk path
            cursor.executemany("INSERT INTO bench_prices VALUES (%s, %s)", rows)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_prices")
    return elapsed


def timed_import(content: bytes, file_name: str) -> dict[str, Any]:
    """One import through the job, as the back office runs it; seconds by phase."""
    from kabinet.pharma.catalog.models import ImportJob
    from kabinet.pharma.catalog.tasks import process_job, submit_import

    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(processed: int, total: int) -> None:
        now = time.perf_counter() - started
        marks.setdefault("read", now)
        if processed == total:
            marks["checked"] = now

    job = submit_import(kind="prices", file_name=file_name, content=content, enqueue=False)
    outcome = process_job(job_id=job.pk, on_progress=progress)
    total = time.perf_counter() - started
    job = ImportJob.objects.get(pk=job.pk)
    if outcome != "done" or job.rejected_rows:
        raise BenchError(f"the import did not go through: {outcome}, {job.error or job.report}")
    read = marks.get("read", total)
    checked = marks.get("checked", total)
    return {
        "seconds": total,
        "read": read,
        "check": checked - read,
        "write": total - checked,
        "accepted": job.accepted_rows,
    }


def measure(
    *, rows: int, rounds: int, say: Callable[[dict[str, Any]], None] = lambda event: None
) -> dict[str, Any]:
    """Make the catalog, then time `rounds` rounds of CSV, XLSX and COPY."""
    from kabinet.pharma.catalog.models import Product

    started = time.perf_counter()
    made_by = make_catalog(rows)
    products = list(
        Product.objects.order_by("code").values_list("code", "jnvlp", "registered_price_kopecks")[
            :rows
        ]
    )
    say(
        {
            "event": "catalog",
            "products": len(products),
            "by": made_by,
            "seconds": time.perf_counter() - started,
        }
    )
    results: dict[str, list[float]] = {"csv": [], "xlsx": [], "copy": []}
    for number in range(1, rounds + 1):
        for fmt, writer in (("csv", price_csv), ("xlsx", price_xlsx)):
            prices = price_rows(products, round_no=number * 2 + (fmt == "xlsx"))
            content = writer(prices)
            timing = timed_import(content, f"prices.{fmt}")
            results[fmt].append(timing["seconds"])
            say({"event": "round", "round": number, "format": fmt, "bytes": len(content), **timing})
        reference = copy_seconds(price_rows(products, round_no=0))
        results["copy"].append(reference)
        say({"event": "round", "round": number, "format": "copy", "seconds": reference})
    return {"rows": len(products), "results": results}


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m kabinet.bench.imports")
    sub = parser.add_subparsers(dest="action", required=True)
    run_it = sub.add_parser("measure")
    run_it.add_argument("--rows", type=int, required=True)
    run_it.add_argument("--rounds", type=int, required=True)
    args = parser.parse_args(argv)
    _setup()

    def say(event: dict[str, Any]) -> None:
        print(json.dumps(event, ensure_ascii=False), flush=True)

    done = measure(rows=args.rows, rounds=args.rounds, say=say)
    say({"event": "done", **done})
    return 0


# ---------------------------------------------------------------------------- the run


def _round_text(event: dict[str, Any], rows: int) -> str:
    fmt = event["format"]
    if fmt == "copy":
        return f"round {event['round']}  COPY  {event['seconds']:7.3f} s  (reference)"
    return (
        f"round {event['round']}  {fmt.upper():4}  {event['seconds']:7.2f} s  "
        f"{rows / event['seconds']:8.0f} rows/s  (read {event['read']:.2f} s, check "
        f"{event['check']:.2f} s, write {event['write']:.2f} s; {event['bytes'] / 1024:.0f} KiB)"
    )


def run(opts: Options, out: Output, argv: list[str]) -> int:
    """The whole benchmark; 0 when every round imported every row."""
    opts.check()
    db = Database.scratch(opts.database_url)

    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    say("kabinet bench import — a price file through the catalog import on PostgreSQL")
    say("command: kabinet " + " ".join(shlex.quote(a) for a in argv))
    try:
        version = db.server_version()
    except Exception as exc:
        raise BenchError(f"cannot reach PostgreSQL at {db.host}:{db.port}: {exc}") from exc
    say("machine: " + "; ".join(system.facts(version)))
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "KABINET_VAR_DIR"}},
        "DJANGO_SETTINGS_MODULE": "kabinet.config.settings",
        "DATABASE_URL": db.url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-import-" + "x" * 40,
        "LOG_LEVEL": "WARNING",
    }
    child: subprocess.Popen[str] | None = None
    try:
        started = time.monotonic()
        db.recreate()
        migrate = subprocess.run(
            [sys.executable, "-m", "kabinet.cli", "migrate", "--no-input"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if migrate.returncode:
            raise BenchError(f"migrate failed:\n{(migrate.stdout + migrate.stderr)[-2000:]}")
        say(f"database {db.name} migrated in {time.monotonic() - started:.0f} s")
        child = subprocess.Popen(  # noqa: S603 — our own argv
            [
                *(sys.executable, "-m", "kabinet.bench.imports", "measure"),
                *("--rows", str(opts.rows), "--rounds", str(opts.rounds)),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        final: dict[str, Any] | None = None
        assert child.stdout is not None
        for line in child.stdout:
            event = json.loads(line)
            if event["event"] == "catalog":
                say(
                    f"catalog: {event['products']} products ({event['by']}) "
                    f"in {event['seconds']:.0f} s; every {JNVLP_EVERY}th ЖНВЛП"
                )
                say()
            elif event["event"] == "round":
                say(_round_text(event, opts.rows))
            elif event["event"] == "done":
                final = event
        stderr = child.stderr.read() if child.stderr else ""
        if child.wait() or final is None:
            raise BenchError(f"the measurement failed:\n{stderr[-3000:]}")
        rows = final["rows"]
        say()
        say(f"medians of {opts.rounds} rounds, {rows} rows, end to end through the import job:")
        for text in summary_lines(final["results"], rows=rows):
            say("  " + text)
        return 0
    except KeyboardInterrupt:
        say("\ninterrupted: cleaning up")
        return 130
    finally:
        if child is not None and child.poll() is None:
            system.stop(child)
        try:
            db.drop()
        except Exception as exc:  # report it and go on
            say(f"could not drop database {db.name}: {exc}")


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
