"""The POS contract is published: OpenAPI at /api/pos/v1/openapi.json, Swagger at docs."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

CONTRACT = {
    "/api/pos/v1/cards/{card}": {"get"},
    "/api/pos/v1/cards/sell": {"post"},
    "/api/pos/v1/purchases/calculate": {"post"},
    "/api/pos/v1/purchases": {"post"},
    "/api/pos/v1/purchases/{purchase_id}/confirm": {"post"},
    "/api/pos/v1/purchases/{purchase_id}/cancel": {"post"},
    "/api/pos/v1/purchases/{purchase_id}/returns": {"post"},
    "/api/pos/v1/purchases/batch": {"post"},
}


def test_every_path_of_the_contract_is_in_the_openapi_document(client):
    response = client.get("/api/pos/v1/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    assert {path: set(ops) for path, ops in spec["paths"].items()} == CONTRACT
    assert spec["components"]["securitySchemes"]["TerminalAuth"]["scheme"] == "bearer"


def test_the_documented_fields_are_the_contracts(client):
    schemas = client.get("/api/pos/v1/openapi.json").json()["components"]["schemas"]

    assert set(schemas["CardOut"]["properties"]) == {
        "card",
        "status",
        "balance",
        "redeemable",
        "first_name",
        "messages",
    }
    assert {"earn", "redeem", "balance_after", "breakdown", "messages"} <= set(
        schemas["QuoteOut"]["properties"]
    )
    assert {"id", "earned", "redeemed", "balance", "breakdown", "messages"} <= set(
        schemas["PurchaseOut"]["properties"]
    )
    assert set(schemas["PurchaseIn"]["properties"]) == {"card", "receipt", "redeem"}
    assert set(schemas["ReceiptIn"]["properties"]) == {"number", "datetime", "lines", "total"}
    assert {"sku", "name", "quantity", "price", "amount"} <= set(schemas["LineIn"]["properties"])
    assert schemas["BatchIn"]["properties"]["items"]["maxItems"] == 1000
    assert schemas["BatchIn"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/BatchItemIn"
    }
    assert "idempotency_key" in schemas["BatchItemIn"]["properties"]
    assert set(schemas["ErrorOut"]["properties"]) == {"error"}


def test_commit_documents_the_idempotency_header(client):
    spec = client.get("/api/pos/v1/openapi.json").json()
    commit = spec["paths"]["/api/pos/v1/purchases"]["post"]

    assert {"in": "header", "name": "Idempotency-Key", "required": True}.items() <= (
        commit["parameters"][0].items()
    )
    assert {"201", "401", "409", "422"} <= set(commit["responses"])


def test_the_docs_page_loads_only_local_scripts_under_the_csp(client):
    response = client.get("/api/pos/v1/docs")

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", html)
    # Every script is a file of ours, or inert JSON data that the CSP does not run.
    assert scripts and all('src="/static/' in s or 'type="application/json"' in s for s in scripts)
    assert "cdn" not in html.lower() and "https://" not in html
    for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(asset), asset
