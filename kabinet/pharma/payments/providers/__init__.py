"""Online payment providers behind one interface (`base.PaymentProvider`)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from kabinet.pharma.payments.providers.base import PaymentProvider, PaymentProviderError
from kabinet.pharma.payments.providers.test_provider import TestBankProvider
from kabinet.pharma.payments.providers.yookassa import YooKassaProvider

PROVIDER_NAMES = (TestBankProvider.name, YooKassaProvider.name)


def online_payment_enabled() -> bool:
    """Whether a provider is configured (PHARMA_PAYMENT_PROVIDER): without one, orders are
    paid by invoice or on deferral, and «Онлайн-оплата» is not offered."""
    return bool(settings.PHARMA_PAYMENT_PROVIDER)


def get_provider(name: str) -> PaymentProvider:
    """The provider stored on a Payment row by its name, configured from settings."""
    if name == TestBankProvider.name:
        return TestBankProvider()
    if name == YooKassaProvider.name:
        return YooKassaProvider.from_settings()
    raise PaymentProviderError(_("Неизвестный платёжный провайдер: %(name)s.") % {"name": name})
