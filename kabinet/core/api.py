"""Shared pieces of the JSON APIs (the POS API now, the mobile-app API later).

* One error shape for every failure: ``{"error": {"code": "...", "message": "...",
  "field": "..." | null}}`` (SPEC §4; `field` is an addition that names the offending
  input when there is one).
* One place that maps exceptions to it: a `DomainError` by its `http_status` and `code`;
  ninja's request validation → 422 ``validation_error`` naming the field; a body that is
  not JSON → 400 ``validation_error``; a missing or bad credential → 401 ``unauthorized``;
  anything unexpected → 500 ``internal_error`` (logged, never leaked).
* A JSON parser that never makes a float: JSON numbers become `Decimal` straight from the
  request's text, so ``123.45`` is exactly 123.45 and the money types below can accept it
  (``NaN`` and ``Infinity``, which Python's json module would accept, are refused).
* Typed scalars for money, points and quantities, and a bearer-token auth base.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from pydantic import BeforeValidator, Field, WithJsonSchema

from kabinet.core.errors import DomainError, RateLimited
from kabinet.core.money import parse_amount

logger = logging.getLogger(__name__)

VALIDATION_ERROR = "validation_error"


# ------------------------------------------------------------------------ error shape


class ErrorDetail(Schema):
    code: str = Field(examples=["insufficient_points"])
    message: str = Field(examples=["Недостаточно баллов для списания"])
    field: str | None = Field(default=None, examples=["receipt.total"])


class ErrorOut(Schema):
    """Every error response of the JSON APIs."""

    error: ErrorDetail


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


#: The `response=` entries for the errors an operation documents.
def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    return dict.fromkeys(statuses, ErrorOut)


def _field_path(loc: Sequence[Any]) -> str:
    """("body", "payload", "receipt", "lines", 0, "amount") → "receipt.lines[0].amount"."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]  # the source, then the operation's body parameter name
    elif parts:
        parts = parts[1:]  # path, query, header: the parameter's own name follows
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def _pydantic_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    # Our own validators raise ValueError; pydantic prefixes their text.
    return message.removeprefix("Value error, ")


def validation_message(errors: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """(field, message) for the first of pydantic's errors, plus a count of the rest."""
    first = errors[0]
    field = _field_path(first.get("loc", ()))
    message = f"{field}: {_pydantic_message(first)}"
    if len(errors) > 1:
        message += f" (и ещё ошибок: {len(errors) - 1})"
    return field, message


def install_error_handlers(api: NinjaAPI) -> None:
    """Map every exception an operation may raise to the one error shape."""

    def respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        response = respond(request, exc.http_status, error_body(exc.code, exc.message, exc.field))
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        field, message = validation_message(exc.errors)
        return respond(request, 422, error_body(VALIDATION_ERROR, message, field))

    @api.exception_handler(AuthenticationError)
    def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(
            request,
            401,
            error_body("unauthorized", "Нужен действующий токен: Authorization: Bearer <токен>"),
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:
            # ninja raises this one when the body is not JSON (see JsonParser).
            return respond(
                request, 400, error_body(VALIDATION_ERROR, "Тело запроса — не корректный JSON")
            )
        return respond(request, exc.status_code, error_body("http_error", exc.message))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, error_body("not_found", "Не найдено"))

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return respond(request, 500, error_body("internal_error", "Внутренняя ошибка сервера"))


# ----------------------------------------------------------------------- JSON parser


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


class JsonParser(Parser):
    """JSON numbers as `Decimal` parsed from the text itself, never through a float."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_float=Decimal, parse_constant=_refuse_constant)


# ------------------------------------------------------------------ typed scalars

# Anything past this is absurd for one receipt and would only make Decimal work hard.
_MAX_ABS = Decimal(10) ** 12
_DECIMAL_TEXT = re.compile(r"-?[0-9]{1,40}(?:\.[0-9]{1,40})?")


def _decimal(value: Any, *, places: int, what: str) -> Decimal:
    """A finite Decimal with at most `places` decimals from a JSON string or number."""
    if isinstance(value, bool | float):
        # A float can only come from a caller that bypassed JsonParser; it is not exact.
        raise ValueError(f'нужна десятичная строка ({what}), например "12.50"')
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise ValueError(f'нужна десятичная строка ({what}), например "12.50"')
        number = Decimal(value)
    else:
        raise ValueError(f'нужна десятичная строка ({what}), например "12.50"')
    if not number.is_finite() or abs(number) >= _MAX_ABS:
        raise ValueError("значение вне допустимых пределов")
    try:
        exact = number == number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        exact = False
    if not exact:
        raise ValueError(f"не больше {places} знаков после запятой")
    return number


def _hundredths(value: Any, what: str) -> int:
    return parse_amount(_decimal(value, places=2, what=what))


def _money(value: Any) -> int:
    return _hundredths(value, "сумма")


def _points(value: Any) -> int:
    return _hundredths(value, "баллы")


def _quantity(value: Any) -> Decimal:
    return _decimal(value, places=3, what="количество")


def _exact_json_number(description: str, places: int, example: str) -> WithJsonSchema:
    pattern = rf"^-?[0-9]+(\.[0-9]{{1,{places}}})?$"
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": pattern},
                {"type": "number", "multipleOf": float(Decimal(1).scaleb(-places))},
            ],
            "description": description,
            "examples": [example],
        }
    )


#: Roubles in, integer kopecks out. A decimal string ("123.45"); a JSON number is accepted
#: only if it is exactly that (at most two decimals), read from the text, never via float.
Money = Annotated[
    int,
    BeforeValidator(_money),
    _exact_json_number(
        'Рубли десятичной строкой ("123.45"); число JSON — только точное, '
        "не больше 2 знаков после запятой",
        2,
        "123.45",
    ),
]
#: Points in, integer hundredths out; same rules as Money (1 point = 1 rouble).
Points = Annotated[
    int,
    BeforeValidator(_points),
    _exact_json_number('Баллы десятичной строкой ("12.50")', 2, "12.50"),
]
#: A quantity: pieces or kilograms, at most three decimals (grams).
Quantity = Annotated[
    Decimal,
    BeforeValidator(_quantity),
    _exact_json_number("Количество (штуки или килограммы, до 3 знаков)", 3, "1.5"),
]


# --------------------------------------------------------------------------- auth


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <token>`; subclasses say what a token is.

    `authenticate` returns the principal (it becomes `request.auth`) or None, which the
    error handlers turn into 401 ``unauthorized``.
    """

    openapi_description = "Bearer token"

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        raise NotImplementedError


def build_api(
    *,
    title: str,
    version: str,
    description: str,
    urls_namespace: str,
    auth: Callable[..., Any] | None,
    api_class: type[NinjaAPI] = NinjaAPI,
) -> NinjaAPI:
    """A NinjaAPI with our parser and error handlers; docs at `docs`, spec at `openapi.json`.

    The Swagger page is ninja's own local template (ninja is in INSTALLED_APPS, so its
    scripts and styles are collected and served by the app — no CDN) and it has no inline
    script, so it works under the site's content security policy.
    """
    api = api_class(
        title=title,
        version=version,
        description=description,
        urls_namespace=urls_namespace,
        auth=auth,
        parser=JsonParser(),
        openapi_url="/openapi.json",
        docs_url="/docs",
    )
    install_error_handlers(api)
    return api
