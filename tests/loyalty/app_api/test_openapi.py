"""The app contract is published: OpenAPI at /api/app/v1/openapi.json, Swagger at docs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

BASE = "/api/app/v1/"

#: SPEC §4 "Mobile app API": every path the app is built against.
CONTRACT = {
    "auth/register": {"post"},
    "auth/register/confirm": {"post"},
    "auth/login": {"post"},
    "auth/login/confirm": {"post"},
    "auth/password-reset": {"post"},
    "auth/password-reset/confirm": {"post"},
    "auth/logout": {"post"},
    "me": {"get", "patch"},
    "me/balance": {"get"},
    "me/receipts": {"get"},
    "me/receipts/{receipt_id}": {"get"},
    "me/notifications": {"get", "put"},
    "me/card": {"get"},
    "me/card/virtual": {"post"},
    "me/card/block": {"post"},
    "offers": {"get"},
    "cities": {"get"},
    "stores": {"get"},
    "me/push-tokens": {"post"},
}
#: Additions (fields and paths may be added, SPEC §4).
ADDITIONS = {
    "auth/code/resend": {"post"},
    "auth/login/code": {"post"},
    "auth/logout/all": {"post"},
    "me/phone": {"post"},
    "me/phone/confirm": {"post"},
    "me/chart": {"get"},
    "me/export": {"get"},
    "me/close": {"post"},
    "me/cards": {"get"},
    "me/card/replace": {"post"},
}
PUBLIC = {
    "auth/register",
    "auth/register/confirm",
    "auth/login",
    "auth/login/confirm",
    "auth/login/code",
    "auth/code/resend",
    "auth/password-reset",
    "auth/password-reset/confirm",
    "cities",
    "stores",
}


def _spec(client):
    response = client.get(BASE + "openapi.json")
    assert response.status_code == 200
    return response.json()


def test_every_contract_path_is_in_the_openapi_document(client):
    paths = {p.removeprefix(BASE[:-1] + "/"): set(ops) for p, ops in _spec(client)["paths"].items()}
    assert paths == {**CONTRACT, **ADDITIONS}


def test_the_bearer_token_is_required_exactly_where_the_contract_says(client):
    spec = _spec(client)
    assert spec["components"]["securitySchemes"]["MemberAuth"]["scheme"] == "bearer"
    for path, operations in spec["paths"].items():
        short = path.removeprefix("/api/app/v1/")
        for method, operation in operations.items():
            secured = bool(operation.get("security"))
            assert secured == (short not in PUBLIC), (method, short)


def test_the_documented_fields_are_the_contracts(client):
    schemas = _spec(client)["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert {
        "card",
        "city_id",
        "first_name",
        "birth_date",
        "email",
        "password",
        "phone",
        "consents",
        "marketing",
    } == fields("RegisterIn")
    assert fields("ConsentsIn") == {"personal_data", "rules"}
    assert fields("MarketingIn") == {"email", "sms", "voice", "push"}
    assert "challenge_id" in fields("ChallengeOut")
    assert {"challenge_id", "code"} == fields("ChallengeIn")
    assert {"token", "card"} <= fields("RegisteredOut")
    assert "token" in fields("TokenOut")
    assert fields("LoginIn") == {"phone", "password"}
    assert fields("PasswordResetIn") == {"phone", "birth_date"}
    assert fields("PasswordResetConfirmIn") == {"challenge_id", "code", "new_password"}
    assert {"balance", "month", "level"} <= fields("BalanceOut")
    assert {"spent", "counted_lines"} <= fields("MonthOut")
    assert {"name", "rate", "next"} <= fields("LevelOut")
    assert {"name", "spend_needed"} <= fields("NextLevelOut")
    assert {"id", "store", "datetime", "total", "earned", "redeemed"} <= fields("ReceiptOut")
    assert {"lines", "breakdown"} <= fields("ReceiptDetailOut")
    assert fields("ChannelsIO") == {"email", "sms", "voice", "push"}
    assert {"card", "status", "virtual", "qr_payload", "qr_expires_at"} <= fields("CardOut")
    assert {"promo", "premium", "personal"} <= fields("OffersOut")
    assert {"id", "name", "region", "program_active"} <= fields("CityOut")
    assert "distance" in fields("StoreOut")
    assert fields("PushTokenIn") == {"platform", "token"}
    assert set(schemas["AppErrorDetail"]["properties"]) >= {"code", "message", "field"}


def test_receipts_document_the_from_and_to_filters(client):
    operation = _spec(client)["paths"]["/api/app/v1/me/receipts"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"from", "to"} <= names


def test_the_docs_page_is_served(client):
    response = client.get(BASE + "docs")
    assert response.status_code == 200
    assert "/api/app/v1/openapi.json" in response.content.decode()
