"""`kabinet bench pos`: the till API's throughput against PostgreSQL (issue 3, Performance).

A benchmark the project ships, not a test: it creates its own databases, starts the
production server, drives it and pgbench for the same time on the same machine, prints the
figures and cleans up. See `kabinet.bench.pos` for what each figure means.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kabinet.bench import imports as import_bench
from kabinet.bench import pos
from kabinet.bench import search as search_bench


class Command(BaseCommand):
    help = (
        "Benchmarks: `bench pos [--seconds 20] [--clients 16] [--rounds 3] [--batch-size 200] "
        "[--database-url URL] [--workers N --threads N]` — purchases/s through the POS API "
        "on PostgreSQL, against pgbench on the same server."
    )
    # It never touches the configured database: it makes and drops its own.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="target", required=True)
        bench = sub.add_parser("pos", help="purchases per second through the POS API")
        defaults = pos.Options()
        bench.add_argument("--seconds", type=int, default=defaults.seconds, help="per run")
        bench.add_argument(
            "--clients",
            type=int,
            default=defaults.clients,
            help="concurrent tills (and pgbench -c)",
        )
        bench.add_argument("--rounds", type=int, default=defaults.rounds)
        bench.add_argument(
            "--batch-size", type=int, default=defaults.batch_size, help="receipts per batch request"
        )
        bench.add_argument(
            "--batch-clients",
            type=int,
            default=defaults.batch_clients,
            help="concurrent batch senders",
        )
        bench.add_argument(
            "--database-url",
            default=defaults.database_url,
            help="a scratch PostgreSQL database (name must contain 'bench'); it is dropped "
            "and created, and dropped again at the end",
        )
        bench.add_argument("--workers", type=int, default=defaults.workers, help="granian workers")
        bench.add_argument(
            "--threads", type=int, default=defaults.threads, help="granian threads per worker"
        )
        bench.add_argument("--stores", type=int, default=defaults.stores)
        bench.add_argument("--members", type=int, default=defaults.members)
        bench.add_argument(
            "--warmup", type=int, default=defaults.warmup, help="seconds of load before round 1"
        )
        bench.add_argument(
            "--load",
            choices=["auto", "wrk", "python"],
            default=defaults.load,
            help="the single-commit load generator (auto: wrk if installed)",
        )
        bench.add_argument(
            "--redeem-share",
            type=float,
            default=defaults.redeem_share,
            help="share of single-commit receipts that redeem points",
        )
        bench.add_argument("--pgbench-scale", type=int, default=defaults.pgbench_scale)
        import_bench.add_arguments(sub)
        search_bench.add_arguments(sub)

    def handle(self, *args, **options) -> None:
        if options["target"] == "search":
            try:
                code = search_bench.run(
                    search_bench.options_from(options), self.stdout, sys.argv[1:]
                )
            except search_bench.BenchError as exc:
                raise CommandError(str(exc)) from exc
            if code:
                sys.exit(code)
            return
        if options["target"] == "import":
            try:
                opts = import_bench.options_from(options)
                code = import_bench.run(opts, self.stdout, sys.argv[1:])
            except import_bench.BenchError as exc:
                raise CommandError(str(exc)) from exc
            if code:
                sys.exit(code)
            return
        opts = pos.Options(
            seconds=options["seconds"],
            clients=options["clients"],
            rounds=options["rounds"],
            batch_size=options["batch_size"],
            batch_clients=options["batch_clients"],
            database_url=options["database_url"],
            workers=options["workers"],
            threads=options["threads"],
            stores=options["stores"],
            members=options["members"],
            warmup=options["warmup"],
            load=options["load"],
            redeem_share=options["redeem_share"],
            pgbench_scale=options["pgbench_scale"],
        )
        try:
            code = pos.run(opts, self.stdout, sys.argv[1:])
        except pos.BenchError as exc:
            raise CommandError(str(exc)) from exc
        if code:
            sys.exit(code)
