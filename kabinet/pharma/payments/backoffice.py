"""Back-office pages of payments (SPEC P-NEXT-4, P-PAY-2, P-BO-2): bank statements with their
matching and manual assignment, the payments list, and «Дебиторка».

Thin: `payments.statements` writes, `payments.selectors` reads, `access.staff_required` lets
in staff holding the page's permission; a partner user is never staff.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kabinet.accounts.models import User
from kabinet.core.errors import DomainError, ValidationFailed
from kabinet.core.forms import RoublesField, add_domain_error
from kabinet.core.money import format_rub, parse_amount
from kabinet.pharma.access import staff_required
from kabinet.pharma.payments import refunds, selectors, statements
from kabinet.pharma.payments.models import PaymentState, RefundState, StatementOutcome

VIEW_STATEMENTS = "pharma.view_bankstatement"
UPLOAD_STATEMENTS = "pharma.upload_bankstatement"
VIEW_PAYMENTS = "pharma.view_payment"
# Returning a payment's money through its provider is «changing» the payment.
REFUND_PAYMENTS = "pharma.change_payment"
PAYMENTS_PAGE_SIZE = 50
RECEIVABLES_PAGE_SIZE = 100


def _staff(request: HttpRequest) -> User:
    # staff_required lets only signed-in staff this far.
    return cast(User, request.user)


def _page_query(request: HttpRequest) -> str:
    """The filters of the current page, to keep in the pager's links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- statements -----------------------------------------------------------------------------


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Файл выписки 1С (1CClientBankExchange)"),
        help_text=gettext_lazy(
            "Текстовый файл из интернет-банка или 1С: kl_to_1c.txt, Windows-1251 или DOS."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,text/plain"}),
    )


class AssignForm(forms.Form):
    order_number = forms.CharField(
        label=gettext_lazy("Номер заказа"),
        max_length=30,
        help_text=gettext_lazy("Например, З-2026-000123 или 2026-123."),
    )


@require_http_methods(["GET", "POST"])
@staff_required(VIEW_STATEMENTS)
def statement_list(request: HttpRequest) -> HttpResponse:
    """The upload form and the statements uploaded so far."""
    form = StatementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not request.user.has_perm(UPLOAD_STATEMENTS):
            raise PermissionDenied
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > statements.MAX_STATEMENT_BYTES:
                    raise ValidationFailed(
                        _("Файл больше %(mb)d МБ: выписка столько не весит.")
                        % {"mb": statements.MAX_STATEMENT_BYTES // (1024 * 1024)},
                        field="file",
                    )
                statement = statements.upload_statement(
                    file_name=upload.name, content=upload.read(), by=_staff(request)
                )
            except ValidationFailed as error:
                add_domain_error(form, error)
            else:
                messages.success(
                    request,
                    _(
                        "Выписка загружена: разнесено %(applied)d, не разнесено %(unmatched)d, "
                        "уже проведены ранее %(duplicates)d."
                    )
                    % {
                        "applied": statement.applied_count,
                        "unmatched": statement.unmatched_count,
                        "duplicates": statement.duplicate_count,
                    },
                )
                return redirect("pharma:statement-detail", pk=statement.pk)
    return render(
        request,
        "pharma/backoffice/statements.html",
        {
            "form": form,
            "statements": selectors.statements()[:100],
            "can_upload": request.user.has_perm(UPLOAD_STATEMENTS),
            "account": statements.our_account(),
        },
        status=400 if form.errors else 200,
    )


@require_GET
@staff_required(VIEW_STATEMENTS)
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """What each document of a statement became, and the form to place the unmatched ones."""
    statement = selectors.statement(pk)
    return _detail(request, statement, form=None, form_document_id=None)


def _detail(request, statement, *, form, form_document_id, status: int = 200) -> HttpResponse:
    documents = list(selectors.statement_documents(statement))
    return render(
        request,
        "pharma/backoffice/statement_detail.html",
        {
            "statement": statement,
            "documents": documents,
            "unmatched": [d for d in documents if d.outcome == StatementOutcome.UNMATCHED],
            "overpaid": [d for d in documents if d.overpaid_kopecks],
            "earlier": list(selectors.earlier_uploads(statement)[:5]),
            "can_upload": request.user.has_perm(UPLOAD_STATEMENTS),
            "form": form,
            "form_document_id": form_document_id,
        },
        status=status,
    )


@require_POST
@staff_required(UPLOAD_STATEMENTS)
def statement_assign(request: HttpRequest, pk: int, document_id: int) -> HttpResponse:
    """Place an unmatched document on the order staff name."""
    statement = selectors.statement(pk)
    if not statement.documents.filter(pk=document_id).exists():
        raise Http404
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            document = statements.assign_document(
                document_id=document_id,
                order_number=form.cleaned_data["order_number"],
                by=_staff(request),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if document.outcome == StatementOutcome.DUPLICATE:
                messages.warning(request, document.message)
            else:
                messages.success(request, document.message)
            return redirect("pharma:statement-detail", pk=statement.pk)
    return _detail(request, statement, form=form, form_document_id=document_id, status=400)


# --- payments -------------------------------------------------------------------------------


_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PaymentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Статус"),
        required=False,
        choices=[("", gettext_lazy("все")), *PaymentState.choices],
    )
    provider = forms.ChoiceField(label=gettext_lazy("Способ"), required=False)
    date_from = forms.DateField(
        label=gettext_lazy("С даты"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("По дату"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    q = forms.CharField(
        label=gettext_lazy("Заказ, ИНН или организация"), required=False, max_length=100
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [("", _("все")), *selectors.provider_choices()]


@require_GET
@staff_required(VIEW_PAYMENTS)
def payment_list(request: HttpRequest) -> HttpResponse:
    """Payments online and from bank statements, filtered, newest first."""
    form = PaymentFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    criteria = selectors.PaymentFilter(
        status=data.get("status") or "",
        provider=data.get("provider") or "",
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        query=data.get("q") or "",
    )
    page = Paginator(selectors.payments(criteria), PAYMENTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    labels = dict(selectors.provider_choices())
    may_refund = request.user.has_perm(REFUND_PAYMENTS)
    return render(
        request,
        "pharma/backoffice/payments.html",
        {
            "form": form,
            "page": page,
            "rows": [
                (
                    payment,
                    labels.get(payment.provider, payment.provider),
                    RefundForm.fresh() if may_refund and refunds.refundable(payment) else None,
                )
                for payment in page
            ],
            "query": _page_query(request),
        },
    )


class RefundForm(forms.Form):
    amount = RoublesField(label=gettext_lazy("Сумма возврата, ₽"), min_value=Decimal("0.01"))
    reason = forms.CharField(label=gettext_lazy("Причина"), max_length=200)
    # Made with the page: the same form sent twice (a double click, a reload) is one refund.
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    @classmethod
    def fresh(cls) -> RefundForm:
        return cls(initial={"key": uuid.uuid4().hex})


@require_POST
@staff_required(VIEW_PAYMENTS, REFUND_PAYMENTS)
def payment_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """Return part or all of an online payment to the buyer through its provider."""
    form = RefundForm(request.POST)
    payment = selectors.payment(pk)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        data = form.cleaned_data
        try:
            refund = refunds.refund_payment(
                payment_id=payment.pk,
                amount_kopecks=parse_amount(data["amount"]),
                reason=data["reason"],
                idempotency_key=data["key"],
                by=_staff(request),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            text = {
                RefundState.SUCCEEDED: _("Возврат %(amount)s по заказу %(number)s выполнен."),
                RefundState.PENDING: _(
                    "Возврат %(amount)s по заказу %(number)s в обработке у провайдера."
                ),
                RefundState.FAILED: _(
                    "Провайдер отклонил возврат %(amount)s по заказу %(number)s."
                ),
            }[RefundState(refund.status)]
            notice = {"amount": format_rub(refund.amount_kopecks), "number": payment.order.number}
            level = messages.error if refund.status == RefundState.FAILED else messages.success
            level(request, text % notice)
    return redirect(f"{reverse('pharma:payment-list')}?{urlencode({'q': payment.order.number})}")


@require_GET
@staff_required(VIEW_PAYMENTS, "pharma.view_organisation")
def receivables(request: HttpRequest) -> HttpResponse:
    """«Дебиторка»: credit limit, debt on deferral, what is left, unpaid invoices."""
    query = request.GET.get("q", "")[:100]
    everyone = request.GET.get("all") == "1"
    rows = selectors.receivables(query=query, everyone=everyone)
    page = Paginator(rows, RECEIVABLES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "pharma/backoffice/receivables.html",
        {
            "page": page,
            "q": query,
            "everyone": everyone,
            "query": _page_query(request),
            "total_debt": sum(r.credit.debt_kopecks for r in rows),
            "total_invoices": sum(r.invoices_unpaid_kopecks for r in rows),
        },
    )
