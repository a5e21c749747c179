"""The development outbox: delivery is the Message row itself, read at /dev/outbox/."""

from __future__ import annotations

from kabinet.notifications.gateways.base import Outgoing


class OutboxGateway:
    def send(self, message: Outgoing) -> str:
        # Nothing leaves the machine; the job marks the row sent, and the outbox pages read it.
        return f"outbox-{message.message_id}"
