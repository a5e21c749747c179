"""The till (POS) API, base `/api/pos/v1/` (SPEC §4, L-POS). Thin: parse → service → shape.

Every operation needs `Authorization: Bearer <terminal token>` (L-POS-3); the terminal, its
store and the store's region come in one query, kept for 10 s in the server process (a
revoked token is refused at most 10 s later). A terminal sees and acts only on purchases
of its own store: another store's purchase id is 404, as if it did not exist.

Decisions the contract leaves open:

* A card in state `issued` (sold, not activated) earns nothing (L-CARD-5): lookup and
  calculate answer 200 with a `card_not_active` message and zero points; a commit is refused
  with 409 `card_not_active` and records nothing, since a purchase belongs to a member's
  account and an issued card has none. The till is told to have the card activated first.
* Card lookup answers 200 for any existing card and says its `status`; only an active card
  shows a name and a balance. A blocked card is refused (409 `card_blocked`) by calculate,
  commit and the batch.
* Money as JSON numbers: accepted only when exact with at most two decimals, read from the
  request's text (never through a float); otherwise 422 `validation_error`. Send strings.
* Batch items are offline receipts: an item with `redeem` above zero is refused with 409
  `offline_redeem_not_allowed`; a QR payload in an item is taken for its card number only
  (the rotating code cannot be checked hours later, and an offline receipt can only add
  points to the card's owner).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Header, NinjaAPI
from ninja.responses import Status
from pydantic import ValidationError as PydanticValidationError

from kabinet.core.api import (
    VALIDATION_ERROR,
    BearerAuth,
    build_api,
    error_body,
    error_responses,
    validation_message,
)
from kabinet.core.errors import DomainError, NotFound, RuleViolation, ValidationFailed
from kabinet.core.models import IdempotencyRecord
from kabinet.core.money import format_amount
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import (
    Account,
    Card,
    CardState,
    Purchase,
    PurchaseStatus,
    Store,
    Terminal,
)
from kabinet.loyalty.pos_schemas import (
    BatchIn,
    BatchItemIn,
    BatchOut,
    CardOut,
    PurchaseCommitIn,
    PurchaseIn,
    PurchaseOut,
    QuoteOut,
    ReturnIn,
    ReturnOut,
    SellIn,
    SellOut,
)
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services import holds, returns
from kabinet.loyalty.services.purchases import (
    OfflineReceipt,
    PurchaseResult,
    calculate_purchase,
    commit_offline_receipts,
    commit_purchase,
    terminal_scope,
    till_card,
    till_cards_by_number,
)
from kabinet.loyalty.services.terminals import authenticate_terminal

DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""
IDEMPOTENCY_HEADER = "Idempotency-Key"


class TerminalAuth(BearerAuth):
    """A till's token (L-POS-3): unknown or revoked → 401 `unauthorized`."""

    def authenticate(self, request: HttpRequest, token: str) -> Terminal | None:
        return authenticate_terminal(token)


class PosNinjaAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """The batch body is validated item by item (a bad receipt must not sink the other
        999), so its item schema is declared here rather than by the parameter's type."""
        schema = super().get_openapi_schema(**kwargs)
        item = BatchItemIn.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(item.pop("$defs", {}))
        components["BatchItemIn"] = item
        items = components["BatchIn"]["properties"]["items"]
        items["items"] = {"$ref": "#/components/schemas/BatchItemIn"}
        return schema


api = build_api(
    title="Kabinet POS API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="pos-v1",
    auth=TerminalAuth(),
    api_class=PosNinjaAPI,
)

_ERRORS = error_responses(400, 401, 404, 409, 422)


def _terminal(request: HttpRequest) -> Terminal:
    terminal = request.auth  # type: ignore[attr-defined]
    assert isinstance(terminal, Terminal)
    return terminal


def _lookup_card(terminal: Terminal, raw: str) -> Card:
    """`cards.lookup_card`, with the common case — a typed or scanned card number, not a
    virtual card's QR code — read in one plain statement (`purchases.till_card`)."""
    try:
        scanned = cardnumbers.parse_scan(raw)
    except ValueError:
        scanned = None  # lookup_card refuses it with the contract's error
    if scanned is not None and scanned.code is None:
        card = till_card(scanned.number)
        if card is not None:
            return card
    return card_services.lookup_card(raw=raw, terminal=terminal)


def _purchase_not_found() -> NotFound:
    return NotFound("Покупка не найдена", code="purchase_not_found")


def _answer(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    """The JSON answer of a hot operation, rendered as ninja renders any, but not validated
    again against its response schema: our own output, already in the contract's shape
    (the API tests pin it), and re-validating it cost ~5 % of a purchase's CPU."""
    return api.create_response(request, body, status=status)


def _own_purchases(terminal: Terminal) -> QuerySet[Purchase]:
    """The purchases this terminal may see and act on: its store's."""
    return Purchase.objects.filter(store_id=terminal.store_id).defer("lines")


def _own_purchase(terminal: Terminal, purchase_id: int) -> Purchase:
    purchase = _own_purchases(terminal).filter(pk=purchase_id).first()
    if purchase is None:
        raise _purchase_not_found()
    return purchase


# ------------------------------------------------------------------------------ cards


def _message(code: str, text: str) -> dict[str, Any]:
    return {"code": code, "text": text, "ref": None}


def _card_body(card: Card, store: Store) -> dict[str, Any]:
    if card.state == CardState.ISSUED:
        return {
            "card": card.number,
            "status": card.state,
            "balance": "0.00",
            "redeemable": "0.00",
            "first_name": None,
            "messages": [
                _message(
                    "card_not_active",
                    "Карта не активирована: покупки по ней не начисляют баллы, "
                    "сначала активируйте её",
                )
            ],
        }
    if card.state == CardState.BLOCKED or card.account is None:
        return {
            "card": card.number,
            "status": CardState.BLOCKED,
            "balance": "0.00",
            "redeemable": "0.00",
            "first_name": None,
            "messages": [_message("card_blocked", "Карта заблокирована")],
        }
    account = card.account
    messages = []
    takes_part = store.takes_part
    if not takes_part:
        messages.append(
            _message(
                "store_not_participating",
                "Магазин не участвует в программе: баллы не начисляются и не списываются",
            )
        )
    if account.balance < 0:
        messages.append(
            _message("negative_balance", "Баланс отрицательный: списание баллов недоступно")
        )
    return {
        "card": card.number,
        "status": card.state,
        "balance": format_amount(account.balance),
        "redeemable": format_amount(account.available if takes_part else 0),
        "first_name": account.first_name,
        "messages": messages,
    }


# "cards/sell" comes first: "cards/{card}" would otherwise take its path (and say 405).
@api.post("cards/sell", response={200: SellOut, **_ERRORS}, summary="Продать карту")
def sell_card(request: HttpRequest, payload: SellIn) -> dict[str, Any]:
    """The price of an issued plastic card with this receipt: 25.00, or 0.00 from 500 RUB."""
    terminal = _terminal(request)
    card = _lookup_card(terminal, payload.card)
    price = card_services.sell_card(card=card, receipt_total_kopecks=payload.receipt_total)
    return {"price": format_amount(price)}


@api.get("cards/{card}", response={200: CardOut, **_ERRORS}, summary="Найти карту")
def get_card(request: HttpRequest, card: str) -> dict[str, Any]:
    """The card by its 16 digits, barcode or a virtual card's QR payload (URL-encoded).

    A QR code is accepted by one till only, and only while fresh (L-CARD-4): a screenshot
    gets 422 `qr_code_expired` or `qr_code_replayed`.
    """
    terminal = _terminal(request)
    found = _lookup_card(terminal, card)
    return _card_body(found, terminal.store)


# -------------------------------------------------------------------------- purchases


@api.post("purchases/calculate", response={200: QuoteOut, **_ERRORS}, summary="Рассчитать покупку")
def calculate(request: HttpRequest, payload: PurchaseIn) -> dict[str, Any]:
    """What a commit would earn and redeem, and the balance after; changes nothing."""
    terminal = _terminal(request)
    card = _lookup_card(terminal, payload.card)
    quote = calculate_purchase(
        store=terminal.store, card=card, receipt=payload.receipt.to_input(), redeem=payload.redeem
    )
    return {
        "earn": format_amount(quote.earn),
        "redeem": format_amount(quote.redeem),
        "balance": format_amount(quote.balance),
        "redeemable": format_amount(quote.redeemable),
        "balance_after": format_amount(quote.balance_after),
        "breakdown": [
            {**part, "points": format_amount(part["points"])} for part in quote.breakdown
        ],
        "messages": quote.messages,
    }


def _card_for_commit(terminal: Terminal, raw: str, key: str) -> Card:
    """The card of a commit. A till retrying a commit after a lost answer may resend a QR
    code that has since expired; if its key was already used, the service will replay (or
    refuse) without creating anything, so the code need not be fresh."""
    try:
        return _lookup_card(terminal, raw)
    except ValidationFailed as exc:
        if exc.code not in {"qr_code_expired", "qr_code_replayed"}:
            raise
        if not IdempotencyRecord.objects.filter(scope=terminal_scope(terminal), key=key).exists():
            raise
        number = cardnumbers.parse_scan(raw).number
        card = till_card(number)
        if card is None:
            raise
        return card


def _purchase_body(result: PurchaseResult) -> dict[str, Any]:
    """The contract's body of a commit; a held purchase says until when it is held."""
    body = result.to_body()
    expires = None
    if result.status == PurchaseStatus.HELD:
        # The stored answer predates this field; one indexed read, only in hold mode.
        expires = (
            Purchase.objects.filter(pk=result.id).values_list("hold_expires_at", flat=True).get()
        )
    body["hold_expires_at"] = expires.isoformat() if expires else None
    return body


@api.post("purchases", response={201: PurchaseOut, **_ERRORS}, summary="Провести покупку")
def commit(
    request: HttpRequest,
    payload: PurchaseCommitIn,
    idempotency_key: str = Header(..., alias=IDEMPOTENCY_HEADER),
) -> HttpResponse:
    """Record the receipt, redeem and earn; idempotent by `Idempotency-Key` (L-POS-1).

    The same key and body again → the same 201 answer; the same key with another body →
    409 `idempotency_conflict`; not enough points → 409 `insufficient_points`. With
    `"mode": "hold"` the redemption is only reserved until `confirm` or `cancel`
    (L-POS-4; `hold_expires_at` says until when).
    """
    terminal = _terminal(request)
    card = _card_for_commit(terminal, payload.card, idempotency_key)
    result = commit_purchase(
        terminal=terminal,
        card=card,
        receipt=payload.receipt.to_input(),
        redeem=payload.redeem,
        idempotency_key=idempotency_key,
        hold=payload.mode == "hold",
    )
    return _answer(request, 201, _purchase_body(result))


def _closed_body(purchase: Purchase) -> dict[str, Any]:
    balance = Account.objects.values_list("balance", flat=True).get(pk=purchase.account_id)
    return {
        "id": purchase.pk,
        "status": purchase.status,
        "earned": "0.00",
        "redeemed": "0.00",
        "balance": format_amount(balance),
        "breakdown": [],
        "messages": [],
        "hold_expires_at": None,
    }


@api.post(
    "purchases/{int:purchase_id}/confirm",
    response={200: PurchaseOut, **_ERRORS},
    summary="Подтвердить резерв",
)
def confirm(request: HttpRequest, purchase_id: int) -> dict[str, Any]:
    """Turn a held purchase into a committed one (L-POS-4); confirming again is harmless.

    A hold past its expiry → 409 `hold_expired`; a cancelled one → 409 `hold_cancelled`.
    """
    purchase = _own_purchase(_terminal(request), purchase_id)
    return holds.confirm_hold(purchase=purchase).to_body()


@api.post(
    "purchases/{int:purchase_id}/cancel",
    response={200: PurchaseOut, **_ERRORS},
    summary="Отменить резерв",
)
def cancel(request: HttpRequest, purchase_id: int) -> dict[str, Any]:
    """Release a held purchase's reservation (L-POS-4); cancelling again is harmless.

    A committed purchase cannot be cancelled (409 `purchase_committed`): return it. The
    answer of a cancelled (or expired) hold shows nothing earned or redeemed.
    """
    purchase = _own_purchase(_terminal(request), purchase_id)
    return _closed_body(holds.cancel_hold(purchase=purchase))


@api.post(
    "purchases/{int:purchase_id}/returns",
    response={201: ReturnOut, **_ERRORS},
    summary="Возврат",
)
def return_lines(
    request: HttpRequest,
    purchase_id: int,
    payload: ReturnIn,
    idempotency_key: str = Header(..., alias=IDEMPOTENCY_HEADER),
) -> Status:
    """Return the whole purchase (empty `lines`) or some lines (L-SPEND-3); idempotent.

    Takes back the points the returned money earned and gives back the points it was paid
    with; the balance may go below zero.
    """
    terminal = _terminal(request)
    purchase = _own_purchase(terminal, purchase_id)
    result = returns.return_purchase(
        terminal=terminal,
        purchase=purchase,
        lines=[
            returns.ReturnLineInput(
                sku=line.sku, amount_kopecks=line.amount, quantity=line.quantity
            )
            for line in payload.lines
        ],
        idempotency_key=idempotency_key,
    )
    return Status(201, result.to_body())


def _refused(exc: DomainError) -> tuple[int, dict[str, Any]]:
    return exc.http_status, error_body(exc.code, exc.message, exc.field)


@api.post("purchases/batch", response={200: BatchOut, **_ERRORS}, summary="Пакет чеков")
def batch(request: HttpRequest, payload: BatchIn) -> HttpResponse:
    """Receipts of a till that was offline (L-POS-2): at most 1 000, each idempotent by its
    `idempotency_key`, each with its own result (`status` and `body` as a single commit
    would answer). They may earn but never redeem offline (L-POS-4)."""
    terminal = _terminal(request)
    parsed: list[BatchItemIn | tuple[int, dict[str, Any]]] = []
    for raw in payload.items:
        try:
            parsed.append(BatchItemIn.model_validate(raw))
        except PydanticValidationError as exc:
            errors = [{**error, "loc": ("body", "item", *error["loc"])} for error in exc.errors()]
            field, message = validation_message(errors)
            parsed.append((422, error_body(VALIDATION_ERROR, message, field)))
    cards = _cards_by_number(item for item in parsed if isinstance(item, BatchItemIn))
    results: list[dict[str, Any] | None] = [None] * len(parsed)
    valid: list[tuple[int, BatchItemIn]] = []
    for index, (raw, item) in enumerate(zip(payload.items, parsed, strict=True)):
        if isinstance(item, tuple):
            key = raw.get("idempotency_key") if isinstance(raw, dict) else None
            key = key if isinstance(key, str) else None
            results[index] = {"idempotency_key": key, "status": item[0], "body": item[1]}
        else:
            valid.append((index, item))
    for start in range(0, len(valid), BATCH_CHUNK):
        chunk = valid[start : start + BATCH_CHUNK]
        for index, item, (status, body) in _commit_chunk(terminal, chunk, cards):
            key = item.idempotency_key
            results[index] = {"idempotency_key": key, "status": status, "body": body}
    return _answer(request, 200, {"results": results})


#: Batch items committed together (`commit_offline_receipts`): one transaction, one WAL
#: flush and a handful of statements per chunk; its members' balances stay locked until it
#: commits, so it is kept short.
BATCH_CHUNK = 100


def _commit_chunk(
    terminal: Terminal, chunk: list[tuple[int, BatchItemIn]], cards: dict[str, Card]
) -> list[tuple[int, BatchItemIn, tuple[int, dict[str, Any]]]]:
    """Refuse what the till's API refuses, then commit the rest in one go (`purchases`)."""
    answers: dict[int, tuple[int, dict[str, Any]]] = {}
    offline: list[tuple[int, BatchItemIn, OfflineReceipt]] = []
    for index, item in chunk:
        try:
            offline.append((index, item, _offline_receipt(item, cards)))
        except DomainError as exc:
            answers[index] = _refused(exc)
    results = commit_offline_receipts(
        terminal=terminal, items=[receipt for _, _, receipt in offline]
    )
    for (index, _, _), result in zip(offline, results, strict=True):
        if isinstance(result, DomainError):
            answers[index] = _refused(result)
        else:
            answers[index] = (201, {**result.to_body(), "hold_expires_at": None})
    return [(index, item, answers[index]) for index, item in chunk]


def _scanned_number(raw: str) -> str:
    return cardnumbers.parse_scan(raw).number


def _cards_by_number(items: Any) -> dict[str, Card]:
    """Every card of the batch in one query (the items' numbers that parse)."""
    numbers = set()
    for item in items:
        try:
            numbers.add(_scanned_number(item.card))
        except (cardnumbers.CardNumberError, cardnumbers.QrPayloadError):
            continue
    return till_cards_by_number(numbers)


def _offline_receipt(item: BatchItemIn, cards: dict[str, Card]) -> OfflineReceipt:
    if item.redeem:
        raise RuleViolation(
            "Офлайн-чек не может списывать баллы: списание только онлайн",
            code="offline_redeem_not_allowed",
            field="redeem",
        )
    try:
        number = _scanned_number(item.card)
    except (cardnumbers.CardNumberError, cardnumbers.QrPayloadError) as exc:
        raise ValidationFailed(str(exc), code="invalid_card_number", field="card") from exc
    card = cards.get(number)
    if card is None:
        raise NotFound("Карта не найдена", code="card_not_found")
    return OfflineReceipt(
        card=card, receipt=item.receipt.to_input(), idempotency_key=item.idempotency_key
    )
