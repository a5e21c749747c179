"""Back-office pages of the catalog: imports (SPEC P-CAT-5) — upload, progress, rejected rows —
and stock by warehouse and series (P-BO-2).

Staff only: imports for those allowed to add them (`pharma.add_importjob`), stock for those
allowed to view offers (`pharma.view_offer`), and superusers; a partner user is never staff,
so never sees an import, its report or the stock of every warehouse.
"""

from __future__ import annotations

import codecs
from typing import Any, cast

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from kabinet.accounts.models import User
from kabinet.core.errors import ValidationFailed
from kabinet.core.forms import add_domain_error
from kabinet.pharma.access import staff_required
from kabinet.pharma.catalog import imports
from kabinet.pharma.catalog import selectors as catalog_selectors
from kabinet.pharma.catalog.models import (
    ImportJob,
    ImportKind,
    ImportStatus,
    PriceList,
    Warehouse,
)
from kabinet.pharma.catalog.selectors import StockFilter
from kabinet.pharma.catalog.tasks import submit_import

IMPORT_PERMISSION = "pharma.add_importjob"


# Staff (else the admin's login page) holding the permission to import (else 403).
import_staff_required = staff_required(IMPORT_PERMISSION)


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


# --- stock (P-BO-2) -------------------------------------------------------------------------

STOCK_PERMISSION = "pharma.view_offer"
STOCK_PAGE_SIZE = 100


class StockFilterForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        label=gettext_lazy("Склад"),
        queryset=Warehouse.objects.select_related("branch").order_by("name"),
        required=False,
        empty_label=gettext_lazy("все склады"),
    )
    q = forms.CharField(
        label=gettext_lazy("Название, код или штрихкод"), required=False, max_length=100
    )
    expiring = forms.IntegerField(
        label=gettext_lazy("Истекает в течение, дней"),
        required=False,
        min_value=0,
        max_value=3650,
    )
    reserved = forms.BooleanField(label=gettext_lazy("Только с резервом"), required=False)


@require_GET
@staff_required(STOCK_PERMISSION)
def stock(request: HttpRequest) -> HttpResponse:
    """Stock by warehouse, product and series: quantity, reserved, free, expiry."""
    form = StockFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    warehouse = data.get("warehouse")
    criteria = StockFilter(
        warehouse_id=warehouse.pk if warehouse else None,
        query=data.get("q") or "",
        expiring_within_days=data.get("expiring"),
        reserved_only=bool(data.get("reserved")),
    )
    today = timezone.localdate()
    page = Paginator(catalog_selectors.stock(criteria, today=today), STOCK_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "pharma/backoffice/stock.html",
        {
            "form": form,
            "page": page,
            "rows": [(offer, (offer.expires_on - today).days) for offer in page],
            "query": params.urlencode(),
        },
    )
