"""Helpers for the app API tests: the app talking HTTP, and the personas.

Anna and Boris are one household (they share a tablet: one `X-Device-Id`); Viktor is a
stranger. Each is registered through the app's own channel and holds a bearer token.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.test import Client

from kabinet.accounts.models import Challenge
from kabinet.geo.models import City
from kabinet.loyalty.models import Account, AppToken, Card, KnownDevice, PushToken
from kabinet.loyalty.services import app_tokens, registration
from kabinet.loyalty.services import cards as card_services
from kabinet.notifications.models import Message
from tests.accounts.helpers import last_code
from tests.loyalty.pos_client import far_from_birthday

BASE = "/api/app/v1/"
PASSWORD = "Magnit2026ok"
IP = "127.0.0.1"  # what the test client sends as REMOTE_ADDR
ANNA_PHONE = "+79161110001"
BORIS_PHONE = "+79161110002"
VIKTOR_PHONE = "+79161110003"
SHARED_TABLET = "tablet-of-the-household"


class App:
    """One installation of the app: its own HTTP client, device id and (once signed in) token."""

    def __init__(self, token: str | None = None, device_id: str | None = None) -> None:
        self.token = token
        self.device_id = device_id
        # The app sends no CSRF token: the API must not ask for one.
        self.client = Client(enforce_csrf_checks=True)

    def _headers(self) -> dict[str, str]:
        headers = {}
        if self.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        if self.device_id:
            headers["HTTP_X_DEVICE_ID"] = self.device_id
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(BASE + path, params or {}, **self._headers())

    def _send(self, method: str, path: str, body: Any) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(
            BASE + path, data, content_type="application/json", **self._headers()
        )

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("post", path, {} if body is None else body)

    def put(self, path: str, body: Any) -> Any:
        return self._send("put", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("patch", path, body)


def error(response: Any) -> tuple[int, str, str | None]:
    body = response.json()["error"]
    return response.status_code, body["code"], body.get("field")


def moscow() -> City:
    return City.objects.select_related("region").get(search_name="москва")


def anadyr() -> City:
    return City.objects.select_related("region").get(search_name="анадырь")


def issued_card() -> Card:
    (card,) = card_services.issue_cards(count=1, batch_name=f"test-{uuid.uuid4().hex}")
    return card


def register_body(phone: str, *, card: str | None = None, **overrides: Any) -> dict[str, Any]:
    body = {
        "card": card,
        "city_id": moscow().pk,
        "first_name": "Анна",
        "birth_date": far_from_birthday().isoformat(),
        "email": f"{phone[1:]}@example.ru",
        "password": PASSWORD,
        "phone": phone,
        "consents": {"personal_data": True, "rules": True},
        "marketing": {"email": False, "sms": True, "voice": False, "push": True},
    }
    body.update(overrides)
    return body


def register_member(phone: str, first_name: str, *, card: Card | None = None) -> Account:
    """A member registered through the app channel by the services (the HTTP path has its
    own tests)."""
    challenge = registration.start_registration(
        card_number=card.number if card is not None else None,
        first_name=first_name,
        birth_date=far_from_birthday(),
        phone=phone,
        email=f"{phone[1:]}@example.ru",
        password=PASSWORD,
        city=moscow(),
        consents={"personal_data", "rules"},
        channel="app",
        client_ip=IP,
    )
    return registration.confirm_registration(
        challenge_id=challenge.pk, code=last_code(phone), client_ip=IP
    )


@dataclass
class Persona:
    account: Account
    card: Card
    app: App

    @property
    def phone(self) -> str:
        return self.account.user.phone


def persona(phone: str, first_name: str, *, device_id: str) -> Persona:
    account = register_member(phone, first_name, card=issued_card())
    app_tokens.remember_device(user=account.user, device_id=device_id)
    token = app_tokens.issue_token(user=account.user).raw
    card = Card.objects.get(account=account, state="active")
    return Persona(account=account, card=card, app=App(token, device_id))


@dataclass
class World:
    anna: Persona
    boris: Persona
    viktor: Persona


def build_world() -> World:
    return World(
        anna=persona(ANNA_PHONE, "Анна", device_id=SHARED_TABLET),
        boris=persona(BORIS_PHONE, "Борис", device_id=SHARED_TABLET),
        viktor=persona(VIKTOR_PHONE, "Виктор", device_id="viktors-phone"),
    )


def snapshot(*accounts: Account) -> tuple:
    """What a refused request must leave alone."""
    rows = []
    for account in accounts:
        account.refresh_from_db()
        account.user.refresh_from_db()
        rows.append(
            (
                account.first_name,
                account.balance,
                account.user.email,
                account.user.phone,
                account.user.password,
                tuple(Card.objects.filter(account=account).order_by("pk").values_list("state")),
            )
        )
    return (
        tuple(rows),
        AppToken.objects.filter(revoked_at__isnull=True).count(),
        KnownDevice.objects.count(),
        PushToken.objects.count(),
        Challenge.objects.count(),
        Message.objects.count(),
    )


def birthday() -> date:
    return far_from_birthday()
