"""Failed logins are limited per account and per client address (SPEC L-AUTH-4)."""

import pytest

from kabinet.accounts import throttling
from kabinet.accounts.throttling import (
    check_login_allowed,
    register_login_failure,
    register_login_success,
)
from kabinet.core.errors import RateLimited

PHONE = "+79161234567"
IP = "203.0.113.7"

# The windows are fixed; a frozen clock keeps a test from straddling two of them.
pytestmark = pytest.mark.usefixtures("clock")


def fail(times, identifier=PHONE, ip=IP):
    for _ in range(times):
        check_login_allowed(identifier, ip)
        register_login_failure(identifier, ip)


def test_five_failures_lock_the_account_for_the_window(clock):
    fail(5)

    with pytest.raises(RateLimited) as locked:
        check_login_allowed(PHONE, "192.0.2.1")  # from any address
    assert (locked.value.code, locked.value.retry_after, locked.value.http_status) == (
        "login_locked",
        900,
        429,
    )
    assert locked.value.message == (
        "Слишком много неудачных попыток входа. Повторите через 15 мин."
    )

    clock.advance(minutes=3, seconds=30)
    with pytest.raises(RateLimited) as locked:
        check_login_allowed(PHONE, IP)
    assert locked.value.retry_after == 690
    assert locked.value.message.endswith("Повторите через 12 мин.")

    check_login_allowed("+79160000001", IP)  # other accounts are not affected

    clock.advance(minutes=11, seconds=30)  # the window is over
    check_login_allowed(PHONE, IP)


def test_four_failures_do_not_lock():
    fail(4)
    check_login_allowed(PHONE, IP)


def test_success_forgets_the_accounts_failures():
    fail(4)
    register_login_success(PHONE)
    fail(4)
    check_login_allowed(PHONE, IP)
    register_login_failure(PHONE, IP)
    with pytest.raises(RateLimited):
        check_login_allowed(PHONE, IP)


def test_the_account_counter_ignores_case_and_spaces():
    fail(3, identifier="Admin")
    fail(2, identifier=" admin ")
    with pytest.raises(RateLimited) as locked:
        check_login_allowed("ADMIN", IP)
    assert locked.value.code == "login_locked"


def test_fifty_failures_from_one_address_lock_the_address(clock):
    for i in range(50):
        fail(1, identifier=f"+7916000{i:04d}")
    # A correct password elsewhere does not clear the address's record.
    register_login_success("+79160000049")

    with pytest.raises(RateLimited) as limited:
        check_login_allowed("+79169999999", IP)
    assert (limited.value.code, limited.value.retry_after) == ("login_ip_limited", 3600)
    assert limited.value.message == (
        "Слишком много неудачных попыток входа с вашего адреса. Повторите через 60 мин."
    )
    check_login_allowed("+79169999999", "192.0.2.1")

    clock.advance(hours=1)
    check_login_allowed("+79169999999", IP)


def test_without_an_address_only_the_account_is_counted():
    for i in range(60):
        register_login_failure(f"+7916000{i:04d}", None)
    check_login_allowed("+79169999999", None)
    check_login_allowed("+79169999999", IP)


def _cache_keys() -> list[str]:
    """Every key in the cache, for the local-memory cache and for Redis (CI's second run)."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(None, write=False)
        return [key.decode() for key in client.keys("*")]
    return list(backend._cache.keys())


def test_phones_and_addresses_are_not_in_the_cache_keys():
    fail(1)
    keys = _cache_keys()
    assert len(keys) == 2
    assert not any(PHONE in key or IP in key for key in keys)


def test_limits_are_the_documented_numbers():
    assert (
        throttling.LOGIN_FAILURES_PER_ACCOUNT.max_hits,
        throttling.LOGIN_FAILURES_PER_ACCOUNT.window_seconds,
    ) == (5, 15 * 60)
    assert (
        throttling.LOGIN_FAILURES_PER_IP.max_hits,
        throttling.LOGIN_FAILURES_PER_IP.window_seconds,
    ) == (50, 3600)
    assert (
        throttling.CODE_FAILURES_PER_IP.max_hits,
        throttling.CODE_FAILURES_PER_IP.window_seconds,
    ) == (50, 3600)
