"""Online payment providers behind one interface (`base.PaymentProvider`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from kabinet.pharma.payments.providers.base import PaymentProvider, PaymentProviderError
from kabinet.pharma.payments.providers.test_provider import TestBankProvider
from kabinet.pharma.payments.providers.yookassa import YooKassaProvider

PROVIDER_NAMES = (TestBankProvider.name, YooKassaProvider.name)


def get_provider(name: str) -> PaymentProvider:
    """The provider stored on a Payment row by its name, configured from settings."""
    if name == TestBankProvider.name:
        return TestBankProvider()
    if name == YooKassaProvider.name:
        return YooKassaProvider.from_settings()
    raise PaymentProviderError(_("Неизвестный платёжный провайдер: %(name)s.") % {"name": name})
