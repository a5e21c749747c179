"""Message templates: `templates/notifications/<name>.<channel>.txt` in any app.

Templates are plain text rendered with their own engine, without HTML autoescaping (an SMS
must say "&", not "&amp;"), in the recipient's language. A first line `Subject: …` gives
the e-mail subject (the title of a push notification); e-mail templates must have one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.conf import settings
from django.template import Context, Engine
from django.template.backends.django import get_installed_libraries
from django.utils import translation

_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")
_SUBJECT_PREFIX = "Subject:"

# Context each template cannot do without. Django templates render a missing variable as
# "", and an SMS saying «Код подтверждения: .» is worse than an error in the caller's tests.
REQUIRED_CONTEXT: dict[str, frozenset[str]] = {
    "otp_code": frozenset({"code"}),
    "password_reset_link": frozenset({"url"}),
    "generic": frozenset({"text"}),
}

# GSM 03.38 basic alphabet (and the escape-table characters, which cost two septets).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@cache
def _engine() -> Engine:
    """A text-only engine over the same template directories as the site's."""
    dirs: list[str] = []
    for backend in settings.TEMPLATES:
        dirs.extend(str(d) for d in cast("list[str]", backend.get("DIRS", [])))
    return Engine(dirs=dirs, app_dirs=True, autoescape=False, libraries=get_installed_libraries())


def supported_language(language: str) -> str:
    """The site language closest to `language`; Russian when there is none."""
    try:
        return translation.get_supported_language_variant(language or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def render_message(
    *, template: str, channel: str, context: dict[str, Any], language: str
) -> Rendered:
    """Render `<template>.<channel>.txt` in `language` into a subject and a body."""
    if not _TEMPLATE_NAME.match(template):
        raise ValueError(f"bad notification template name: {template!r}")
    missing = REQUIRED_CONTEXT.get(template, frozenset()) - context.keys()
    if missing:
        raise ValueError(f"template {template!r} needs context {sorted(missing)}")
    compiled = _engine().get_template(f"notifications/{template}.{channel}.txt")
    with translation.override(supported_language(language)):
        text = compiled.render(Context(context, autoescape=False))
    rendered = split_subject(text)
    if channel == "email" and not rendered.subject:
        raise ValueError(f"e-mail template {template!r} has no 'Subject:' line")
    return rendered


def split_subject(text: str) -> Rendered:
    """Take a leading `Subject: …` line off the rendered text."""
    text = text.strip()
    first, _newline, rest = text.partition("\n")
    if first.startswith(_SUBJECT_PREFIX):
        return Rendered(subject=first.removeprefix(_SUBJECT_PREFIX).strip(), body=rest.strip())
    return Rendered(subject="", body=text)


def sms_segments(text: str) -> int:
    """How many SMS parts `text` takes: 160/153 GSM-7 septets, or 70/67 UCS-2 characters.

    One Cyrillic letter switches the whole message to UCS-2, so Russian texts get 70
    characters before they are split (and billed) in parts.
    """
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        single, part = 160, 153
    else:
        # Characters outside the Basic Multilingual Plane take two UTF-16 code units.
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, part = 70, 67
    if units <= single:
        return 1
    return -(-units // part)
