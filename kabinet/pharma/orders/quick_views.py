"""The quick order page (SPEC P-ORD-1): paste or upload codes with quantities.

The POST adds to the cart and redirects (a reload never adds twice); the report of what
happened to every line waits in the session for the page it redirects to.
"""

from __future__ import annotations

from dataclasses import asdict
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from kabinet.core.errors import ValidationFailed
from kabinet.pharma.access import PartnerRequest, partner_required
from kabinet.pharma.catalog.views import _context_of_place
from kabinet.pharma.models import Authority
from kabinet.pharma.orders import quick

RESULT_SESSION_KEY = "pharma_quick_result"


class QuickOrderForm(forms.Form):
    address = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    lines = forms.CharField(
        label=gettext_lazy("Штрихкод или код товара; количество"),
        required=False,
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "По строке на товар. Разделители: «;», табуляция, запятая или пробел. "
            "Количество — целые упаковки; без количества — 1 уп."
        ),
    )
    file = forms.FileField(
        label=gettext_lazy("или файл CSV/XLSX со столбцами «Штрихкод» или «Код» и «Количество»"),
        required=False,
    )

    def clean(self):
        data = super().clean()
        if not (data.get("lines") or "").strip() and not data.get("file"):
            raise forms.ValidationError(_("Вставьте строки или выберите файл."))
        return data


def _quick_url(address_id: int) -> str:
    return f"{reverse('pharma:cart-quick')}?{urlencode({'address': address_id})}"


@require_http_methods(["GET", "POST"])
@partner_required(Authority.ORDER)
def quick_order(request: PartnerRequest) -> HttpResponse:
    """Show the form (and the last result), or add the lines to the chosen address's cart."""
    if request.method == "POST":
        return _submit(request)
    place = _context_of_place(request)
    address = place["address"]
    return render(
        request,
        "pharma/cabinet/quick_order.html",
        {
            **place,
            "form": QuickOrderForm(initial={"address": address.pk}) if address else None,
            "result": request.session.pop(RESULT_SESSION_KEY, None),
        },
    )


def _submit(request: PartnerRequest) -> HttpResponse:
    form = QuickOrderForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        address = request.POST.get("address", "")
        return redirect(_quick_url(int(address)) if address.isdigit() else "pharma:cart-quick")
    data = form.cleaned_data
    upload = data.get("file")
    try:
        lines = (
            quick.parse_table(content=upload.read(), file_name=upload.name)
            if upload
            else quick.parse_lines(data["lines"])
        )
        # NotFound (another organisation's address) becomes a 404 in partner_required.
        result = quick.quick_order(partner=request.partner, address_id=data["address"], lines=lines)
    except ValidationFailed as error:
        messages.error(request, error.message)
        return redirect(_quick_url(data["address"]))
    if result.added:
        messages.success(
            request, _("В корзину добавлено товаров: %(n)d.") % {"n": len(result.added)}
        )
    if result.problems:
        messages.warning(
            request,
            _("Не добавлено строк: %(n)d — см. ниже.")
            % {"n": sum(len(problem.lines) for problem in result.problems)},
        )
    request.session[RESULT_SESSION_KEY] = asdict(result)
    return redirect(_quick_url(data["address"]))
