"""The loyalty back office renders, and its writes go through the services (L-BO-1/2)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kabinet.core.models import AuditEntry
from kabinet.loyalty.models import Card, CardBatch, ProgramSettings, Terminal
from kabinet.loyalty.services.terminals import authenticate_terminal
from tests.loyalty.factories import StoreFactory, fresh_card, give_points, member, terminal

pytestmark = pytest.mark.django_db

MODELS = [
    "programsettings",
    "level",
    "premiumgood",
    "promogood",
    "personaloffer",
    "store",
    "terminal",
    "cardbatch",
    "card",
    "account",
    "ledgerentry",
    "purchase",
    "purchasereturn",
]


@pytest.mark.parametrize("model", MODELS)
def test_every_page_renders(admin_client, model):
    account, _ = member()
    give_points(account, 100)
    terminal()

    listing = admin_client.get(reverse(f"admin:loyalty_{model}_changelist"))

    assert listing.status_code == 200


def test_settings_are_one_row_and_saving_refreshes_the_cache(admin_client):
    assert ProgramSettings.current().base_rate_bp == 50
    url = reverse("admin:loyalty_programsettings_change", args=[1])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data["base_rate_bp"] = 75

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert ProgramSettings.current().base_rate_bp == 75
    assert admin_client.get(reverse("admin:loyalty_programsettings_add")).status_code == 403


def test_creating_a_terminal_shows_its_token_once(admin_client):
    store = StoreFactory()

    response = admin_client.post(
        reverse("admin:loyalty_terminal_add"), {"store": store.pk, "name": "Касса 7"}, follow=True
    )

    assert response.status_code == 200
    text = next(str(m) for m in response.context["messages"] if "Токен" in str(m))
    token = text.rsplit(" ", 1)[-1]
    created = Terminal.objects.get()
    assert authenticate_terminal(token) == created
    assert token not in created.token_hash


def test_revoke_and_block_actions(admin_client):
    till, token = terminal()
    _, card = member()

    admin_client.post(
        reverse("admin:loyalty_terminal_changelist"),
        {"action": "revoke", "_selected_action": [till.pk]},
    )
    admin_client.post(
        reverse("admin:loyalty_card_changelist"),
        {"action": "block", "_selected_action": [card.pk]},
    )

    assert authenticate_terminal(token) is None
    assert fresh_card(card).state == "blocked"
    assert AuditEntry.objects.filter(action="loyalty.card.block", actor__username="admin").exists()


def test_a_batch_is_issued_from_the_back_office(admin_client):
    response = admin_client.post(
        reverse("admin:loyalty_cardbatch_add"), {"name": "Июнь", "count": 3}
    )

    assert response.status_code == 302
    assert CardBatch.objects.get().size == 3
    assert Card.objects.filter(batch__name="Июнь").count() == 3
    export = admin_client.post(
        reverse("admin:loyalty_cardbatch_changelist"),
        {"action": "export_csv", "_selected_action": [CardBatch.objects.get().pk]},
    )
    assert export.content.decode().count("Июнь") == 3


def test_app_tokens_are_listed_without_hashes_and_can_be_revoked(admin_client):
    from kabinet.loyalty.models import AppToken
    from kabinet.loyalty.services import app_tokens

    account, _card = member()
    issued = app_tokens.issue_token(user=account.user, platform="android")
    token, raw = issued.record, issued.raw
    listing = admin_client.get("/admin/loyalty/apptoken/")
    assert listing.status_code == 200
    assert token.token_hash not in listing.content.decode()

    response = admin_client.post(
        "/admin/loyalty/apptoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    assert AppToken.objects.get(pk=token.pk).revoked_at is not None
    assert app_tokens.authenticate(raw) is None
    assert AuditEntry.objects.filter(action="loyalty.app_token.revoke").count() == 1


def test_adjustment_requests_and_push_tokens_open_read_only(admin_client):
    for path in ("/admin/loyalty/adjustmentrequest/", "/admin/loyalty/pushtoken/"):
        assert admin_client.get(path).status_code == 200
    assert admin_client.get("/admin/loyalty/adjustmentrequest/add/").status_code == 403
