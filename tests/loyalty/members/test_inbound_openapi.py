"""The inbound SMS endpoints are documented in OpenAPI (SPEC §4) at /api/sms/v1/openapi.json,
and the document says what the views really do."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from kabinet.loyalty.web.inbound_sms import SIGNATURE_HEADER, signature
from tests.loyalty.members.conftest import issued_card

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
DOC = "/api/sms/v1/openapi.json"
INBOUND = "/api/sms/v1/inbound"


def _document(client) -> dict:
    response = client.get(DOC)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def _resolve(document: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.removeprefix("#/components/schemas/")
    return document["components"]["schemas"][name]


def test_the_document_lists_the_inbound_webhook_with_its_request_fields(client):
    document = _document(client)

    assert document["openapi"].startswith("3.")
    operation = document["paths"][INBOUND]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    request = _resolve(document, body)
    assert set(request["properties"]) == {"message_id", "from", "to", "text"}
    assert set(request["required"]) == {"message_id", "from", "text"}
    (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == SIGNATURE_HEADER and header["required"] is True
    assert set(operation["responses"]) == {"200", "401", "403", "422", "503"}


def test_the_document_lists_kannels_get_url(client):
    document = _document(client)

    operation = document["paths"]["/api/sms/v1/kannel"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"key", "from", "to", "text", "charset", "id"} <= names
    assert {"200", "400", "403"} <= set(operation["responses"])


def test_the_documented_answer_is_what_the_webhook_answers(client):
    card = issued_card()
    payload = {
        "message_id": "doc-1",
        "from": "+79161234567",
        "to": "9002",
        "text": f"{card.number} Анна 15.06.1990",
    }
    raw = json.dumps(payload, ensure_ascii=False).encode()

    response = client.post(
        INBOUND,
        raw,
        content_type="application/json",
        headers={SIGNATURE_HEADER: signature(raw, settings.SMS_INBOUND_SECRET)},
    )

    assert response.status_code == 200
    document = _document(client)
    ok = document["paths"][INBOUND]["post"]["responses"]["200"]
    result = _resolve(document, ok["content"]["application/json"]["schema"])
    assert set(response.json()) == set(result["properties"]) == set(result["required"])
    assert response.json()["status"] in result["properties"]["status"]["enum"]


def test_the_documented_errors_are_the_webhooks(client):
    document = _document(client)
    error = document["components"]["schemas"]["Error"]["properties"]["error"]

    unsigned = client.post(INBOUND, b"{}", content_type="application/json")

    assert unsigned.status_code == 401
    assert set(unsigned.json()["error"]) == set(error["properties"])


def test_the_document_needs_no_sign_in_and_only_get(client):
    assert client.get(DOC).status_code == 200
    assert client.post(DOC).status_code == 405
