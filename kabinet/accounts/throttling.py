"""Limits on guessing: failed logins and wrong one-time codes, per account and per client
address (SPEC L-AUTH-4), on top of the cache counters in `kabinet.core.ratelimit`.

The account counter is kept per *identifier as typed* (phone, login, e-mail), whether or not
such an account exists: an unknown phone is locked exactly like a known one, so the lock-out
never tells an attacker which phones are registered. Callers must therefore register a failure
for an unknown identifier too. The ratelimit module hashes every subject before it becomes a
cache key, so neither phones nor addresses sit in the cache in clear text.

Windows are fixed (see ratelimit): a lock lasts until the current window ends.

Usage in a login view or service::

    check_login_allowed(phone, ip)          # raises RateLimited
    user = authenticate(...)
    if user is None:
        register_login_failure(phone, ip)
    else:
        register_login_success(phone)
"""

from __future__ import annotations

import math

from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core import ratelimit
from kabinet.core.errors import RateLimited
from kabinet.core.ratelimit import Limit

# Five wrong passwords in a quarter of an hour is more than a person mistyping makes, and
# caps an online attack on one account at 480 guesses a day — nothing against a password
# that passes the validators. The lock is short so an attacker cannot keep a member out for long.
LOGIN_FAILURES_PER_ACCOUNT = Limit("login-fail:account", max_hits=5, window_seconds=15 * 60)

# Spraying many accounts from one address. Mobile carriers put many subscribers behind one
# address (CGNAT), so this is ten times the per-account limit and only counts failures.
LOGIN_FAILURES_PER_IP = Limit("login-fail:ip", max_hits=50, window_seconds=60 * 60)

# Wrong one-time codes from one address, across all challenges. Each challenge already allows
# only a few attempts (`kabinet.accounts.codes.MAX_ATTEMPTS`); this stops one address from
# opening many challenges for many phones and guessing in all of them.
CODE_FAILURES_PER_IP = Limit("code-fail:ip", max_hits=50, window_seconds=60 * 60)


def _now() -> float:
    # Through django.utils.timezone so that tests which move the clock move these windows too.
    return timezone.now().timestamp()


def _identifier(raw: str) -> str:
    # "Admin" and " admin" are one account to the login form, so they are one counter.
    return (raw or "").strip().lower()


def seconds_left(limit: Limit, now: float) -> int:
    """Seconds until the fixed window that contains `now` ends."""
    return max(1, limit.window_seconds - int(now) % limit.window_seconds)


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def check_login_allowed(identifier: str, ip: str | None) -> None:
    """Refuse a login attempt while the account or the client address is locked out."""
    now = _now()
    if ratelimit.exceeded(LOGIN_FAILURES_PER_ACCOUNT, _identifier(identifier), now=now):
        retry_after = seconds_left(LOGIN_FAILURES_PER_ACCOUNT, now)
        raise RateLimited(
            _("Слишком много неудачных попыток входа. Повторите через %(minutes)d мин.")
            % {"minutes": _minutes(retry_after)},
            retry_after=retry_after,
            code="login_locked",
        )
    if ip and ratelimit.exceeded(LOGIN_FAILURES_PER_IP, ip, now=now):
        retry_after = seconds_left(LOGIN_FAILURES_PER_IP, now)
        raise RateLimited(
            _(
                "Слишком много неудачных попыток входа с вашего адреса. "
                "Повторите через %(minutes)d мин."
            )
            % {"minutes": _minutes(retry_after)},
            retry_after=retry_after,
            code="login_ip_limited",
        )


def register_login_failure(identifier: str, ip: str | None) -> None:
    """Count a failed login (wrong password, unknown account alike) against both limits."""
    now = _now()
    ratelimit.hit(LOGIN_FAILURES_PER_ACCOUNT, _identifier(identifier), now=now)
    if ip:
        ratelimit.hit(LOGIN_FAILURES_PER_IP, ip, now=now)


def register_login_success(identifier: str) -> None:
    """Forget the account's failures. The address's count stays: one's own valid account must
    not wipe the record of guessing at others."""
    ratelimit.reset(LOGIN_FAILURES_PER_ACCOUNT, _identifier(identifier), now=_now())


def check_code_allowed(ip: str | None) -> None:
    """Refuse to check a one-time code from an address that has sent too many wrong ones."""
    now = _now()
    if ip and ratelimit.exceeded(CODE_FAILURES_PER_IP, ip, now=now):
        retry_after = seconds_left(CODE_FAILURES_PER_IP, now)
        raise RateLimited(
            _("Слишком много неверных кодов с вашего адреса. Повторите через %(minutes)d мин.")
            % {"minutes": _minutes(retry_after)},
            retry_after=retry_after,
            code="code_ip_limited",
        )


def register_code_failure(ip: str | None) -> None:
    """Count a wrong one-time code against the client address."""
    if ip:
        ratelimit.hit(CODE_FAILURES_PER_IP, ip, now=_now())
