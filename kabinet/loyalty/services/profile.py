"""The member's own changes from the cabinet (L-CAB-5, L-CAB-6, L-CAB-10).

Every function acts on the account it is given; the caller passes the signed-in member's
own account, so no function here can reach another member.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from kabinet.accounts import codes
from kabinet.accounts.models import Challenge, CodePurpose
from kabinet.core import audit
from kabinet.core.errors import Conflict, RuleViolation, ValidationFailed
from kabinet.core.phones import PhoneError, mask_phone, normalize_phone
from kabinet.loyalty.models import (
    Account,
    Card,
    CardState,
    KnownDevice,
    LedgerKind,
    MemberProfile,
)
from kabinet.loyalty.services import ledger
from kabinet.loyalty.services import registration as reg
from kabinet.notifications.services import notify

User = get_user_model()

# The same words whoever holds the number (a member, a partner, staff): the member learns
# that this number cannot be used, never whose it is (L-ACT-5).
PHONE_UNAVAILABLE = (
    "Этот номер нельзя привязать к вашему кабинету. Укажите другой номер или обратитесь "
    "в службу поддержки"
)
CLOSED_NAME = "Участник удалён"


def _profile(account: Account) -> MemberProfile:
    profile, _created = MemberProfile.objects.get_or_create(account=account)
    return profile


@transaction.atomic
def update_profile(*, account: Account, first_name: str, email: str) -> Account:
    """Change the member's first name (Russian letters) and e-mail (L-CAB-5)."""
    name = reg.check_first_name(first_name)
    address = reg.check_email(email)
    Account.objects.filter(pk=account.pk).update(first_name=name)
    User.objects.filter(pk=account.user_id).update(email=address, first_name=name)
    audit.record(
        action="loyalty.member.profile_update",
        actor=account.user,
        obj=account,
        data={"first_name": name, "email": address},
    )
    account.first_name = name
    account.user.email, account.user.first_name = address, name
    return account


def _new_phone(account: Account, raw: str) -> str:
    try:
        phone = normalize_phone(raw)
    except PhoneError:
        raise ValidationFailed(
            "Введите номер мобильного телефона, например 9161234567",
            code="phone_invalid",
            field="phone",
        ) from None
    if phone == account.user.phone:
        raise ValidationFailed(
            "Это ваш текущий номер телефона", code="phone_unchanged", field="phone"
        )
    if User.objects.filter(phone=phone).exclude(pk=account.user_id).exists():
        raise ValidationFailed(PHONE_UNAVAILABLE, code="phone_unavailable", field="phone")
    return phone


def start_phone_change(*, account: Account, phone: str, client_ip: str | None) -> Challenge:
    """Send a code to the NEW phone; the change happens when the code comes back (L-CAB-5)."""
    new = _new_phone(account, phone)
    return codes.issue_code(
        purpose=CodePurpose.PHONE_CHANGE,
        phone=new,
        client_ip=client_ip,
        subject_id=account.user_id,
        payload={"account": account.pk},
    )


def confirm_phone_change(
    *, account: Account, challenge_id: Any, code: str, client_ip: str | None
) -> Account:
    """Check the code sent to the new phone, then bind that phone to the member."""
    # verify_code commits its attempt counter in its own durable transaction: outside ours.
    challenge = codes.verify_code(
        challenge_id=challenge_id,
        code=code,
        purpose=CodePurpose.PHONE_CHANGE,
        client_ip=client_ip,
    )
    if challenge.subject_id != account.user_id or challenge.payload.get("account") != account.pk:
        raise ValidationFailed("Код устарел. Начните заново", code="challenge_mismatch")
    return _bind_phone(account=account, phone=challenge.phone, client_ip=client_ip)


@transaction.atomic
def _bind_phone(*, account: Account, phone: str, client_ip: str | None) -> Account:
    user = User.objects.select_for_update().get(pk=account.user_id)
    old = user.phone
    if User.objects.filter(phone=phone).exclude(pk=user.pk).exists():
        raise Conflict(PHONE_UNAVAILABLE, code="phone_unavailable", field="phone")
    user.phone = phone
    fields = ["phone"]
    if user.username == old:
        user.username = phone
        fields.append("username")
    try:
        with transaction.atomic():
            user.save(update_fields=fields)
    except IntegrityError:
        raise Conflict(PHONE_UNAVAILABLE, code="phone_unavailable", field="phone") from None
    # A confirmed device was confirmed through the old phone.
    KnownDevice.objects.filter(user=user).delete()
    if old:
        # A security message: it goes whatever marketing channels are set (L-CAB-6), and
        # tells the old phone's holder if someone else moved the account away.
        notify(
            channel="sms",
            to=old,
            template="phone_changed",
            context={"new_phone": mask_phone(phone)},
            purpose="security",
        )
    audit.record(
        action="loyalty.member.phone_change",
        actor=user,
        obj=account,
        data={"old": old, "new": phone},
        ip=client_ip,
    )
    account.user = user
    return account


@dataclass(frozen=True)
class Channels:
    email: bool = False
    sms: bool = False
    voice: bool = False
    push: bool = False


@transaction.atomic
def set_channels(*, account: Account, channels: Channels) -> MemberProfile:
    """Marketing channels on or off (L-CAB-6); security messages go whatever is set here."""
    profile = _profile(account)
    profile.marketing_email = channels.email
    profile.marketing_sms = channels.sms
    profile.marketing_voice = channels.voice
    profile.marketing_push = channels.push
    profile.save(
        update_fields=["marketing_email", "marketing_sms", "marketing_voice", "marketing_push"]
    )
    audit.record(
        action="loyalty.member.channels",
        actor=account.user,
        obj=account,
        data={
            "email": channels.email,
            "sms": channels.sms,
            "voice": channels.voice,
            "push": channels.push,
        },
    )
    return profile


@transaction.atomic
def close_account(
    *, account: Account, password: str, client_ip: str | None, at: datetime | None = None
) -> Account:
    """Close the member's account at their request (L-CAB-10).

    * the password confirms it is the member;
    * every card is blocked; the points left are written off (a ledger entry «сгорание»),
      so the balance is zero;
    * personal data is anonymised: name, birth date, city, phone, e-mail; sign-in is
      impossible and every session ends;
    * receipts and the ledger stay with the account id, for accounting; the audit log
      records the closure.
    """
    at = at or timezone.now()
    user = User.objects.select_for_update().get(pk=account.user_id)
    if not user.is_active:
        raise Conflict("Счёт уже закрыт", code="account_closed")
    if not password or not user.check_password(password):
        raise ValidationFailed("Неверный пароль", code="wrong_password", field="password")
    locked = Account.objects.select_for_update().get(pk=account.pk)
    if locked.held:
        raise RuleViolation(
            "Идёт оплата баллами на кассе. Закройте счёт после её завершения",
            code="points_held",
        )
    blocked = list(
        Card.objects.filter(account=locked)
        .exclude(state=CardState.BLOCKED)
        .values_list("number", flat=True)
    )
    Card.objects.filter(account=locked).exclude(state=CardState.BLOCKED).update(
        state=CardState.BLOCKED, blocked_at=at, block_reason="счёт закрыт участником"
    )
    written_off = locked.balance if locked.balance > 0 else 0
    if written_off:
        ledger.move(account_id=locked.pk, balance_delta=-written_off)
        ledger.entries(
            account_id=locked.pk,
            moves=[(LedgerKind.EXPIRE, -written_off)],
            reason="счёт закрыт участником",
            at=at,
        )
    Account.objects.filter(pk=locked.pk).update(first_name=CLOSED_NAME, birth_date=None, city=None)
    MemberProfile.objects.filter(account=locked).update(
        marketing_email=False,
        marketing_sms=False,
        marketing_voice=False,
        marketing_push=False,
        always_confirm_login=False,
    )
    KnownDevice.objects.filter(user=user).delete()
    user.username = f"closed-{locked.pk}-{uuid.uuid4().hex[:8]}"
    user.phone = None
    user.email = ""
    user.first_name = ""
    user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save(
        update_fields=[
            "username",
            "phone",
            "email",
            "first_name",
            "last_name",
            "is_active",
            "password",
        ]
    )
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    audit.record(
        action="loyalty.member.close",
        actor=user,
        actor_label=f"member #{locked.pk}",
        obj=locked,
        data={"blocked_cards": blocked, "written_off": written_off},
        ip=client_ip,
    )
    locked.refresh_from_db()
    return locked
