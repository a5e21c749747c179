"""Reading codes and links back from the outbox, the way a member reads their messages."""

import re

from kabinet.notifications.models import Message


def sms_to(phone: str) -> list[str]:
    return list(
        Message.objects.filter(channel="sms", to=phone)
        .order_by("id")
        .values_list("body", flat=True)
    )


def code_from(body: str) -> str:
    numbers = re.findall(r"\d+", body)
    assert len(numbers) == 1 and len(numbers[0]) == 4, body
    return numbers[0]


def last_code(phone: str) -> str:
    bodies = sms_to(phone)
    assert bodies, f"no SMS to {phone}"
    return code_from(bodies[-1])


def other_code(code: str) -> str:
    """A well-formed code that is certainly not `code`."""
    return f"{(int(code) + 1) % 10000:04d}"


def emails_to(address: str) -> list[Message]:
    return list(Message.objects.filter(channel="email", to=address).order_by("id"))


def link_from(body: str) -> str:
    urls = re.findall(r"https?://\S+", body)
    assert len(urls) == 1, body
    return urls[0]
