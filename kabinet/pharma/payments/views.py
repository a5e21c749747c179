"""Paying an order (SPEC P-PAY-1…3): the cabinet's «Оплата» page, the invoice PDF, «Оплатить
онлайн», the test bank's page and the providers' webhook endpoint.

Thin: `payments.services` decides. The webhook answers 200 for an event it applied or had
already applied (a provider retries anything else), 400 for one it cannot trust or accept.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kabinet.core.errors import NotFound, RuleViolation
from kabinet.core.http import client_ip
from kabinet.core.money import format_rub
from kabinet.pharma.access import PartnerRequest, partner_required
from kabinet.pharma.models import Authority
from kabinet.pharma.orders.models import Order, OrderStatus
from kabinet.pharma.payments import selectors, services
from kabinet.pharma.payments.models import Payment, PaymentState
from kabinet.pharma.payments.providers import PROVIDER_NAMES, online_payment_enabled
from kabinet.pharma.payments.providers.base import PaymentProviderError, WebhookRejected
from kabinet.pharma.payments.providers.test_provider import TestBankProvider

log = logging.getLogger(__name__)


@require_GET
@partner_required(Authority.PAY)
def account(request: PartnerRequest) -> HttpResponse:
    """«Оплата»: what the organisation owes (invoices, the deferral debt under its credit
    limit), what it has paid and what is being returned to it."""
    return render(
        request,
        "pharma/cabinet/payments.html",
        {
            "account": selectors.account_of(request.partner),
            "online": online_payment_enabled(),
        },
    )


@require_GET
@partner_required(Authority.PAY)
def order_invoice(request: PartnerRequest, pk: int) -> HttpResponse:
    """The order's «Счёт на оплату» as a PDF download."""
    filename, pdf = services.invoice_pdf(partner=request.partner, order_id=pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    # The number starts with a Cyrillic «З»: an ASCII name for old clients, RFC 6266 for the rest.
    fallback = filename.replace("З", "Z").encode("ascii", "replace").decode()
    response["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=utf-8''{quote(filename)}"
    )
    return response


@require_POST
@partner_required(Authority.PAY)
def order_pay(request: PartnerRequest, pk: int) -> HttpResponse:
    """«Оплатить онлайн»: to the provider's payment page."""
    try:
        payment = services.start_online_payment(partner=request.partner, order_id=pk)
    except (RuleViolation, PaymentProviderError) as error:
        messages.error(request, error.message)
        return redirect("pharma:order", pk=pk)
    if not payment.confirmation_url:
        messages.error(request, _("Платёжный сервис не вернул страницу оплаты."))
        return redirect("pharma:order", pk=pk)
    return HttpResponseRedirect(payment.confirmation_url)


@require_http_methods(["GET", "POST"])
def test_bank_pay(request: HttpRequest, provider_payment_id: str) -> HttpResponse:
    """The built-in test bank's card page: «Оплатить» or «Отказаться», then back to the order.

    On POST it plays the bank's server too: the signed webhook goes to our own handler, in
    process, exactly as it would arrive over HTTP.
    """
    if not services.bank_page_enabled():
        raise Http404
    payment = (
        Payment.objects.select_related("order")
        .filter(provider=TestBankProvider.name, provider_payment_id=provider_payment_id)
        .first()
    )
    bank = TestBankProvider()
    if payment is None or bank.payment(provider_payment_id) is None:
        raise Http404
    if request.method == "GET":
        return render(request, "pharma/payments/test_bank.html", {"payment": payment})
    succeeded = request.POST.get("decision") == "pay"
    body, headers = bank.decide(provider_payment_id=provider_payment_id, succeeded=succeeded)
    try:
        services.handle_webhook(
            provider=TestBankProvider.name, body=body, headers=headers, remote_addr=None
        )
    except (WebhookRejected, RuleViolation, NotFound) as error:
        log.warning("test bank webhook refused", extra={"reason": str(error)})
        messages.error(request, _("Платёж не проведён: %(reason)s") % {"reason": error.message})
    else:
        payment.refresh_from_db()
        if payment.status != PaymentState.SUCCEEDED:
            messages.warning(request, _("Оплата отменена."))
        elif payment.refunded_kopecks:
            cancelled = Order.objects.filter(
                pk=payment.order_id, status=OrderStatus.CANCELLED
            ).exists()
            text = (
                _("Оплата получена, но заказ отменён: %(amount)s возвращается на карту.")
                if cancelled
                else _("Оплата получена. Переплата %(amount)s возвращается на карту.")
            )
            messages.warning(request, text % {"amount": format_rub(payment.refunded_kopecks)})
        else:
            messages.success(request, _("Оплата получена. Спасибо!"))
    return redirect("pharma:order", pk=payment.order_id)


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's notification: verified, then applied once however often it comes."""
    if provider not in PROVIDER_NAMES:
        raise Http404
    try:
        applied = services.handle_webhook(
            provider=provider,
            body=request.body,
            headers=request.headers,
            # Behind a reverse proxy, the address it saw (KABINET_TRUSTED_PROXIES).
            remote_addr=client_ip(request),
        )
    except WebhookRejected as error:
        log.warning(
            "payment webhook rejected", extra={"provider": provider, "reason": error.reason}
        )
        return JsonResponse({"error": error.reason}, status=400)
    except RuleViolation as error:
        return JsonResponse({"error": error.code}, status=400)
    except NotFound:
        return JsonResponse({"error": "unknown_payment"}, status=404)
    except PaymentProviderError as error:
        # A re-fetch from the provider failed: a retry later may succeed.
        return JsonResponse({"error": error.code}, status=503 if error.retryable else 400)
    return JsonResponse({"status": applied.payment.status, "changed": applied.changed})
