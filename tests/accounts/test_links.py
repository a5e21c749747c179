"""Single-use links sent by e-mail (password reset)."""

import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import transaction

from kabinet.accounts.codes import (
    LinkTokenExpired,
    LinkTokenInvalid,
    LinkTokenUsed,
    consume_link_token,
    issue_link_token,
)
from kabinet.accounts.models import LinkToken, User
from kabinet.notifications.models import Message
from tests.accounts.helpers import emails_to, link_from

pytestmark = pytest.mark.django_db

EMAIL = "anna@example.ru"


@pytest.fixture
def anna():
    return User.objects.create(username="anna", email=EMAIL, first_name="Анна")


def send_link(user, purpose="password_reset", path="/password/reset/", **kwargs):
    issue_link_token(
        purpose=purpose, email=user.email, subject_user_id=user.pk, path=path, **kwargs
    )
    url = link_from(emails_to(user.email)[-1].body)
    return url, parse_qs(urlsplit(url).query)["token"][0]


def test_link_goes_out_by_email_and_only_its_hash_is_stored(settings, clock, anna):
    settings.SITE_URL = "https://kabinet.example.ru"
    url, token = send_link(anna, context={"name": "Анна"})

    message = Message.objects.get()
    assert (message.channel, message.to, message.template, message.purpose) == (
        "email",
        EMAIL,
        "password_reset_link",
        "security",
    )
    assert message.subject == "Восстановление пароля"
    assert "Здравствуйте, Анна!" in message.body
    assert url == f"https://kabinet.example.ru/password/reset/?token={token}"
    assert len(token) == 43  # 32 random bytes, URL-safe base64

    link = LinkToken.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (link.purpose, link.subject_id, link.email) == ("password_reset", anna.pk, EMAIL)
    assert link.expires_at == clock.now + timedelta(hours=1)
    row = LinkToken.objects.filter(pk=link.pk).values().get()
    assert all(token not in str(value) for value in row.values())


def test_a_path_with_a_query_gets_the_token_appended(anna):
    url, token = send_link(anna, path="/reset/?next=%2Fcabinet%2F")
    assert url.endswith(f"/reset/?next=%2Fcabinet%2F&token={token}")


def test_link_works_once(clock, anna):
    _url, token = send_link(anna)

    assert consume_link_token(token, "password_reset") == anna
    assert LinkToken.objects.get().used_at == clock.now

    with pytest.raises(LinkTokenUsed) as used:
        consume_link_token(token, "password_reset")
    assert (used.value.code, used.value.message) == (
        "link_used",
        "Ссылка уже использована. Запросите новую",
    )


def test_link_expires_after_an_hour_or_its_own_ttl(clock, anna):
    _url, hour = send_link(anna)
    _url, day = send_link(anna, purpose="email_confirm", ttl=timedelta(days=1))

    clock.advance(hours=1)
    with pytest.raises(LinkTokenExpired) as expired:
        consume_link_token(hour, "password_reset")
    assert (expired.value.code, expired.value.message) == (
        "link_expired",
        "Срок действия ссылки истёк. Запросите новую",
    )
    assert LinkToken.objects.get(purpose="password_reset").used_at is None
    assert consume_link_token(day, "email_confirm") == anna


def test_link_works_until_the_last_second(clock, anna):
    _url, token = send_link(anna)
    clock.advance(minutes=59, seconds=59)
    assert consume_link_token(token, "password_reset") == anna


def test_wrong_purpose_and_unknown_tokens_are_refused_alike(anna):
    _url, token = send_link(anna)

    for candidate, purpose in ((token, "email_confirm"), ("x" * 43, "password_reset"), ("", "")):
        with pytest.raises(LinkTokenInvalid) as invalid:
            consume_link_token(candidate, purpose)
        assert (invalid.value.code, invalid.value.message, invalid.value.http_status) == (
            "link_invalid",
            "Ссылка недействительна. Запросите новую",
            404,
        )
    assert LinkToken.objects.get().used_at is None
    assert consume_link_token(token, "password_reset") == anna


def test_using_one_link_retires_the_older_ones(clock, anna):
    _url, first = send_link(anna)
    _url, second = send_link(anna)
    _url, other = send_link(anna, purpose="email_confirm")

    assert consume_link_token(second, "password_reset") == anna
    with pytest.raises(LinkTokenUsed):
        consume_link_token(first, "password_reset")
    assert consume_link_token(other, "email_confirm") == anna


def test_links_point_only_at_this_site(anna):
    for path in ("https://evil.example/reset", "//evil.example/reset", "reset/"):
        with pytest.raises(ValueError, match="path on this site"):
            issue_link_token(
                purpose="password_reset", email=EMAIL, subject_user_id=anna.pk, path=path
            )
    assert LinkToken.objects.count() == 0
    assert Message.objects.count() == 0


def test_the_link_and_its_letter_roll_back_with_the_callers_transaction(anna):
    with pytest.raises(RuntimeError), transaction.atomic():
        send_link(anna)
        raise RuntimeError("the caller's action failed")
    assert LinkToken.objects.count() == 0
    assert Message.objects.count() == 0
