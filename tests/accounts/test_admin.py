"""The back office sees who was sent a code, never the code or its hash."""

import pytest
from django.urls import reverse

from kabinet.accounts.codes import issue_code
from kabinet.accounts.models import Challenge

pytestmark = pytest.mark.django_db


def test_challenges_are_listed_read_only_with_a_masked_phone(admin_client):
    challenge = issue_code(
        purpose="login",
        phone="+79161234567",
        client_ip="203.0.113.7",
        payload={"secret": "pending-registration-data"},
    )
    challenge.refresh_from_db()

    listing = admin_client.get(reverse("admin:accounts_challenge_changelist"))
    detail = admin_client.get(reverse("admin:accounts_challenge_change", args=[challenge.pk]))
    assert (listing.status_code, detail.status_code) == (200, 200)
    for page in (listing.content.decode(), detail.content.decode()):
        assert "+7 916 ***-**-67" in page
        assert "+79161234567" not in page
        assert "916 123-45-67" not in page
        assert challenge.code_hash not in page
    assert "pending-registration-data" not in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()

    add = admin_client.get(reverse("admin:accounts_challenge_add"))
    delete = admin_client.post(
        reverse("admin:accounts_challenge_delete", args=[challenge.pk]), {"post": "yes"}
    )
    assert (add.status_code, delete.status_code) == (403, 403)
    assert Challenge.objects.filter(pk=challenge.pk).exists()


def test_link_tokens_are_listed_without_their_hash(admin_client, admin_user):
    from kabinet.accounts.codes import issue_link_token
    from kabinet.accounts.models import LinkToken

    issue_link_token(
        purpose="password_reset",
        email="anna@example.ru",
        subject_user_id=admin_user.pk,
        path="/reset/",
    )
    link = LinkToken.objects.get()
    listing = admin_client.get(reverse("admin:accounts_linktoken_changelist"))
    detail = admin_client.get(reverse("admin:accounts_linktoken_change", args=[link.pk]))
    assert (listing.status_code, detail.status_code) == (200, 200)
    assert link.token_hash not in listing.content.decode() + detail.content.decode()
    assert "anna@example.ru" in detail.content.decode()
