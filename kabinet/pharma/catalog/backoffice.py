"""Back-office pages of catalog imports (SPEC P-CAT-5): upload, progress, rejected rows.

Staff only, and only those allowed to add imports (`pharma.add_importjob`) or superusers;
a partner user is never staff, so never sees an import or its report.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from kabinet.accounts.models import User
from kabinet.core.errors import ValidationFailed
from kabinet.core.forms import add_domain_error
from kabinet.pharma.catalog import imports
from kabinet.pharma.catalog.models import ImportJob, ImportKind, ImportStatus, PriceList
from kabinet.pharma.catalog.tasks import submit_import

IMPORT_PERMISSION = "pharma.add_importjob"


def import_staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff (else the admin's login page) holding the permission to import (else 403)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return staff_member_required(checked)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Что загружается"),
        choices=ImportKind.choices,
        widget=forms.RadioSelect,
        initial=ImportKind.PRICES,
    )
    price_list = forms.ModelChoiceField(
        label=gettext_lazy("Прайс-лист"),
        queryset=PriceList.objects.all(),
        required=False,
        empty_label=gettext_lazy("базовый прайс-лист"),
        help_text=gettext_lazy("Только для цен."),
    )
    file = forms.FileField(
        label=gettext_lazy("Файл CSV или XLSX"),
        help_text=gettext_lazy("До 20 МБ; первая строка — заголовки столбцов."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )


@require_GET
@import_staff_required
def import_list(request: HttpRequest) -> HttpResponse:
    """The latest imports with their state and counts."""
    jobs = ImportJob.objects.select_related("created_by", "price_list").defer("content", "report")
    return render(request, "pharma/backoffice/imports.html", {"jobs": jobs[:100]})


@require_http_methods(["GET", "POST"])
@import_staff_required
def import_new(request: HttpRequest) -> HttpResponse:
    """Upload a file: the job is queued and the page of its progress opens."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imports.check_upload(file_name=upload.name, size=upload.size)
            job = submit_import(
                kind=form.cleaned_data["kind"],
                file_name=upload.name,
                content=upload.read(),
                price_list=form.cleaned_data["price_list"],
                # Staff only reach this view, so the user is signed in.
                created_by=cast(User, request.user),
            )
        except ValidationFailed as exc:
            add_domain_error(form, exc)
        else:
            return redirect("pharma:import-detail", pk=job.pk)
    return render(
        request,
        "pharma/backoffice/imports_new.html",
        {
            "form": form,
            "columns": [
                (label, [spellings[0] for spellings in imports.COLUMNS[kind].values()])
                for kind, label in ImportKind.choices
            ],
            "max_mb": imports.MAX_UPLOAD_BYTES // (1024 * 1024),
        },
    )


@require_GET
@import_staff_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(_jobs(), pk=pk)
    return render(
        request,
        "pharma/backoffice/imports_detail.html",
        {"job": job, "progress": progress_data(job)},
    )


@require_GET
@import_staff_required
def import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """What the progress bar polls."""
    job = get_object_or_404(_jobs(), pk=pk)
    return JsonResponse(progress_data(job))


@require_GET
@import_staff_required
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows as CSV, with a BOM so that Excel reads the Cyrillic right."""
    job = get_object_or_404(ImportJob.objects.only("pk", "report"), pk=pk)
    body = job.report or imports.report_csv([])
    response = HttpResponse(
        codecs.BOM_UTF8 + body.encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


def _jobs() -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("created_by", "price_list").defer("content")


def progress_data(job: ImportJob) -> dict[str, Any]:
    finished = job.status in (ImportStatus.DONE, ImportStatus.FAILED)
    if job.status == ImportStatus.RUNNING:
        if job.total_rows and job.processed_rows >= job.total_rows:
            stage = _("запись в каталог")
        elif job.total_rows:
            stage = _("проверка строк")
        else:
            stage = _("чтение файла")
    else:
        stage = job.get_status_display()
    return {
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "stage": str(stage),
        "finished": finished,
        "percent": job.percent_done,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "accepted_rows": job.accepted_rows,
        "rejected_rows": job.rejected_rows,
        "error": job.error,
        "report_url": (
            reverse("pharma:import-report", args=[job.pk]) if job.rejected_rows else None
        ),
    }
