"""The gateway interface: one `send` per channel's transport (SPEC X-2).

Gateways know nothing of the database: the delivery job hands them an `Outgoing` and records
what they answer. Other engineers code against these three names; keep them stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    channel: str
    to: str
    subject: str
    body: str


class GatewayError(Exception):
    """Delivery failed; the job retries later."""


class Gateway(Protocol):
    def send(self, message: Outgoing) -> str: ...  # returns the provider's message id ("" if none)
