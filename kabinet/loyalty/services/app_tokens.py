"""Bearer tokens of the mobile app, the app's known devices, and push tokens (SPEC §4).

* A token is 32 random bytes (URL-safe text) given to the app once; only its SHA-256 is
  stored, so a database dump holds nothing that signs in. It lives `TOKEN_TTL` after its
  last use (sliding), and ends on logout (`revoke`), on "sign out everywhere", on a password
  change or reset and when the account closes: the token remembers the user's session hash
  (`User.get_session_auth_hash`, the same thing that ends the web sessions) and is refused
  once that changes.
* A device the member confirmed a sign-in from by SMS becomes known (L-AUTH-2) through the
  web's `KnownDevice` table: the app sends a stable installation id (`X-Device-Id`), and the
  device's mark is the hash of that id together with the member's phone, so members of one
  household sharing a phone are each confirmed once, and a phone change asks again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from kabinet.core.phones import PhoneError, normalize_phone
from kabinet.loyalty.models import Account, AppToken, KnownDevice, PushToken

User = get_user_model()

#: A token unused for this long stops working; each use extends it.
TOKEN_TTL = timedelta(days=90)
#: Writing "last used" on every request would make every read a write; once a minute is
#: precise enough for a 90-day expiry.
TOUCH_EVERY = timedelta(minutes=1)
TOKEN_BYTES = 32
MAX_DEVICE_ID = 200


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """The raw token (shown to the app once) and its stored record."""

    raw: str
    record: AppToken


@transaction.atomic
def issue_token(
    *, user: Any, device_name: str = "", platform: str = "", at: datetime | None = None
) -> IssuedToken:
    """A new bearer token for a signed-in member."""
    at = at or timezone.now()
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    record = AppToken.objects.create(
        user=user,
        token_hash=_sha256(raw),
        auth_hash=user.get_session_auth_hash(),
        device_name=(device_name or "")[:100],
        platform=(platform or "")[:16],
        created_at=at,
        last_used_at=at,
        expires_at=at + TOKEN_TTL,
    )
    return IssuedToken(raw=raw, record=record)


def authenticate(raw: str | None, *, at: datetime | None = None) -> AppToken | None:
    """The live token for `raw` with its user and account loaded, or None.

    Refused: unknown, revoked, expired, a user no longer active or no longer a member, and a
    token issued before the user's password or session generation changed.
    """
    if not raw or len(raw) > 200:
        return None
    at = at or timezone.now()
    token = (
        AppToken.objects.select_related("user", "user__loyalty_account")
        .filter(token_hash=_sha256(raw), revoked_at__isnull=True, expires_at__gt=at)
        .first()
    )
    if token is None:
        return None
    user = token.user
    if not user.is_active or not hasattr(user, "loyalty_account"):
        return None
    if not constant_time_compare(token.auth_hash, user.get_session_auth_hash()):
        return None
    if at - token.last_used_at >= TOUCH_EVERY:
        AppToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            last_used_at=at, expires_at=at + TOKEN_TTL
        )
        token.last_used_at, token.expires_at = at, at + TOKEN_TTL
    return token


def revoke(*, token: AppToken, at: datetime | None = None) -> None:
    """End one token (logout); a second logout with it changes nothing."""
    AppToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=at or timezone.now()
    )


def revoke_all(*, user: Any, at: datetime | None = None) -> int:
    """End every app token of the user; how many were live."""
    return AppToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=at or timezone.now()
    )


def purge_dead(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete tokens that expired or were revoked more than `older_than` ago; how many."""
    cutoff = timezone.now() - older_than
    deleted, _by_model = AppToken.objects.filter(
        Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)
    ).delete()
    return deleted


# --- known devices (L-AUTH-2) ---------------------------------------------------------------


def clean_device_id(raw: str | None) -> str | None:
    """The app's installation id as sent, or None if it sent none usable."""
    value = (raw or "").strip()
    if not value or len(value) > MAX_DEVICE_ID:
        return None
    return value


def device_mark(*, phone: str, device_id: str | None) -> str | None:
    """What `services.auth.sign_in` takes as the device's token for this phone."""
    if not device_id:
        return None
    try:
        phone = normalize_phone(phone)
    except PhoneError:
        return None  # sign_in refuses the phone itself, with its own words
    return f"app:{phone}:{device_id}"


def remember_device(*, user: Any, device_id: str | None, name: str = "") -> None:
    """Remember a device that just proved the member's phone by an SMS code."""
    mark = device_mark(phone=user.phone or "", device_id=device_id)
    if mark is None:
        return
    now = timezone.now()
    KnownDevice.objects.update_or_create(
        token_hash=_sha256(mark),
        defaults={"user": user, "last_seen_at": now, "user_agent": (name or "app")[:200]},
        create_defaults={
            "user": user,
            "created_at": now,
            "last_seen_at": now,
            "user_agent": (name or "app")[:200],
        },
    )


# --- push tokens ----------------------------------------------------------------------------


@transaction.atomic
def register_push_token(*, account: Account, platform: str, token: str) -> tuple[PushToken, bool]:
    """Where this member's push notifications go; (record, created). Repeats change nothing
    but the time; a token registered by another member moves here (the device changed hands
    or another member signed in on it)."""
    now = timezone.now()
    record, created = PushToken.objects.select_for_update().get_or_create(
        token=token,
        defaults={"account": account, "platform": platform, "created_at": now, "updated_at": now},
    )
    if not created:
        record.account, record.platform, record.updated_at = account, platform, now
        record.save(update_fields=["account", "platform", "updated_at"])
    return record, created
