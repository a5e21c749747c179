"""The import job (SPEC P-CAT-5): an uploaded file checked and applied in the background.

Uploading stores the file in an `ImportJob` and enqueues `run_import_job` in the same
transaction. The job claims its row with one conditional UPDATE (queued → running), so two
workers never run one import; progress is written as it goes, outside any transaction, so
the page can show it; the catalog changes and the job's "done" commit together.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.accounts.models import User
from kabinet.core.errors import ValidationFailed
from kabinet.pharma.catalog import imports
from kabinet.pharma.catalog.models import ImportJob, ImportKind, ImportStatus, PriceList

logger = logging.getLogger(__name__)


def submit_import(
    *,
    kind: str,
    file_name: str,
    content: bytes,
    price_list: PriceList | None = None,
    created_by: User | None = None,
    enqueue: bool = True,
) -> ImportJob:
    """Store an uploaded file as a queued import and enqueue its job (in one transaction)."""
    imports.check_upload(file_name=file_name, size=len(content))
    if kind not in ImportKind.values:
        raise ValidationFailed(_("Неизвестный вид импорта."), field="kind")
    if kind == ImportKind.PRICES:
        price_list = price_list or PriceList.objects.filter(is_base=True).first()
        if price_list is None:
            raise ValidationFailed(
                _("Выберите прайс-лист: базового прайс-листа нет."), field="price_list"
            )
    else:
        price_list = None
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=kind,
            price_list=price_list,
            file_name=file_name[-255:],
            content=content,
            created_by=created_by,
        )
        if enqueue:
            run_import_job.enqueue(job.pk)
    return job


@task()
def run_import_job(job_id: int) -> str:
    """Run one queued import; the result says what became of it."""
    return process_job(job_id=job_id)


def process_job(*, job_id: int, on_progress: imports.ProgressCallback | None = None) -> str:
    """Claim, check and apply one import: "done", "failed" or "skipped" (another run has it)."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    job = ImportJob.objects.select_related("price_list").get(pk=job_id)

    def progress(processed: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(total_rows=total, processed_rows=processed)
        if on_progress:
            on_progress(processed, total)

    try:
        plan = imports.prepare_import(
            kind=job.kind,
            content=bytes(job.content),
            file_name=job.file_name,
            price_list=job.price_list,
            on_progress=progress,
        )
    except imports.ImportRefused as exc:
        _fail(job_id, exc.message, rejected=exc.rejected)
        return "failed"
    except Exception as exc:
        logger.exception("import %s could not be checked", job_id, extra={"import_id": job_id})
        _fail(job_id, _("Внутренняя ошибка при проверке файла, ничего не изменено: %s") % exc)
        return "failed"
    try:
        with transaction.atomic():
            summary = imports.apply_import(plan)
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportStatus.DONE,
                total_rows=summary.total_rows,
                processed_rows=summary.total_rows,
                accepted_rows=summary.accepted_rows,
                rejected_rows=summary.rejected_rows,
                report=imports.report_csv(summary.rejected) if summary.rejected else "",
                error="",
                finished_at=timezone.now(),
            )
    except Exception as exc:
        # Everything the transaction wrote is gone; the file can be fixed and uploaded again.
        logger.exception("import %s failed while writing", job_id, extra={"import_id": job_id})
        _fail(
            job_id,
            _("Ошибка при записи в каталог, все изменения отменены: %s") % exc,
            rejected=plan.rejected,
        )
        return "failed"
    return "done"


def _fail(job_id: int, error: str, *, rejected: list[imports.Rejected] | None = None) -> None:
    fields: dict[str, object] = {
        "status": ImportStatus.FAILED,
        "error": error[:5000],
        "accepted_rows": 0,
        "finished_at": timezone.now(),
    }
    if rejected:
        fields.update(rejected_rows=len(rejected), report=imports.report_csv(rejected))
    ImportJob.objects.filter(pk=job_id).update(**fields)
