"""`kabinet pharma import catalog|prices|stock FILE [--price-list CODE] [--report FILE]` and
`kabinet pharma statement-sample [--out FILE]`.

The import is the same as the back office's upload page, run here and now: the file is stored
as an import job (so it shows in the back office's list) and processed in this process.

The statement sample is a made-up 1CClientBankExchange file for the demo: payments of the
open invoices of this database (one in full, one in part, one with an overpayment), one
without an invoice number and one of our own payments, to upload on the statements page.
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kabinet.core.errors import DomainError
from kabinet.pharma.catalog.imports import report_csv
from kabinet.pharma.catalog.models import ImportJob, ImportKind, ImportStatus, PriceList
from kabinet.pharma.catalog.tasks import process_job, submit_import

# Rejected rows echoed to the terminal; the rest are in the --report file.
SHOWN_REJECTED = 20


class Command(BaseCommand):
    help = (
        "Pharma catalog (P-CAT-5): `pharma import catalog|prices|stock FILE "
        "[--price-list CODE] [--report FILE]`; exits non-zero when the file is refused. "
        "Bank statements (P-NEXT-4): `pharma statement-sample [--out FILE]` writes a demo "
        "statement paying the open invoices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("import", help="import a CSV or XLSX file")
        load.add_argument("kind", choices=ImportKind.values, help="what the file holds")
        load.add_argument("file", help="a .csv or .xlsx file")
        load.add_argument(
            "--price-list", default=None, help="price list code for prices (default: the base)"
        )
        load.add_argument(
            "--report", default=None, help="write the rejected rows here (CSV, UTF-8 with BOM)"
        )
        sample = sub.add_parser(
            "statement-sample",
            help="write a demo bank statement (1CClientBankExchange) paying the open invoices",
        )
        sample.add_argument(
            "--out", default="statement-sample.txt", help="where to write it (windows-1251)"
        )

    def handle(self, *args, **options) -> None:
        if options["action"] == "import":
            self._import(
                kind=options["kind"],
                path=Path(options["file"]),
                price_list_code=options["price_list"],
                report=options["report"],
            )
        elif options["action"] == "statement-sample":
            self._statement_sample(Path(options["out"]))

    def _statement_sample(self, path: Path) -> None:
        from kabinet.pharma.payments.statement_file import demo_statement

        try:
            data, described = demo_statement(today=timezone.localdate())
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        path.write_bytes(data)
        self.stdout.write(f"выписка записана: {path}")
        for line in described:
            self.stdout.write(f"  {line}")

    def _import(
        self, *, kind: str, path: Path, price_list_code: str | None, report: str | None
    ) -> None:
        if not path.is_file():
            raise CommandError(f"нет такого файла: {path}")
        price_list = None
        if price_list_code:
            price_list = PriceList.objects.filter(code=price_list_code).first()
            if price_list is None:
                raise CommandError(f"нет прайс-листа с кодом {price_list_code!r}")
        try:
            job = submit_import(
                kind=kind,
                file_name=path.name,
                content=path.read_bytes(),
                price_list=price_list,
                enqueue=False,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc

        shown = -1

        def progress(processed: int, total: int) -> None:
            nonlocal shown
            percent = processed * 100 // total if total else 100
            if percent // 10 != shown // 10 or processed == total:
                shown = percent
                self.stdout.write(f"проверено {processed} из {total} строк ({percent}%)")

        process_job(job_id=job.pk, on_progress=progress)
        job = ImportJob.objects.get(pk=job.pk)
        if report:
            body = job.report or report_csv([])
            Path(report).write_bytes(codecs.BOM_UTF8 + body.encode("utf-8"))
            self.stdout.write(f"отчёт об отклонённых строках: {report}")
        summary = (
            f"импорт {job.pk}: {job.get_status_display()}; строк {job.total_rows}, "
            f"принято {job.accepted_rows}, отклонено {job.rejected_rows}"
        )
        if job.status != ImportStatus.DONE:
            raise CommandError(f"{summary}\n{job.error}")
        self.stdout.write(summary)
        rows = list(csv.reader(io.StringIO(job.report), delimiter=";"))[1:]
        for line, _data, reason in rows[:SHOWN_REJECTED]:
            self.stdout.write(f"  строка {line}: {reason}")
        if len(rows) > SHOWN_REJECTED:
            self.stdout.write(f"  … и ещё {len(rows) - SHOWN_REJECTED} (см. --report)")
