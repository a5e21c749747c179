"""E-mails to the buyer about an order's money (paid, refunded): one place that finds the
address and names the order."""

from __future__ import annotations

from kabinet.notifications.services import notify
from kabinet.pharma.orders.models import Order


def email_buyer(order: Order, template: str, context: dict[str, object]) -> None:
    """E-mail the user who placed the order, if they have an address; queued in the caller's
    transaction, so it goes only if that commits."""
    email = order.placed_by.email
    if email:
        notify(
            channel="email",
            to=email,
            template=template,
            context={"number": order.number, **context},
        )
