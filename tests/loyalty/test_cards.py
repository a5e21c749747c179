"""Cards through the services: batches, activation, blocking, replacement, till lookup (L-CARD)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kabinet.core.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from kabinet.core.models import AuditEntry
from kabinet.loyalty import cardnumbers
from kabinet.loyalty.models import Card, CardBatch, LedgerEntry, ProgramSettings
from kabinet.loyalty.services import cards as card_services
from kabinet.loyalty.services.purchases import commit_purchase
from kabinet.loyalty.services.terminals import (
    authenticate_terminal,
    create_terminal,
    revoke_terminal,
)
from tests.loyalty.factories import (
    NOW,
    LevelFactory,
    StaffFactory,
    StoreFactory,
    UserFactory,
    fresh_card,
    give_points,
    issued_card,
    member,
    receipt,
    terminal,
)

pytestmark = pytest.mark.django_db


def test_issue_cards_makes_a_batch_of_valid_unique_numbers():
    cards = card_services.issue_cards(count=250, batch_name="Май-2026")

    numbers = [card.number for card in cards]
    assert len(set(numbers)) == 250
    assert all(cardnumbers.is_valid_card_number(n) for n in numbers)
    assert all(n.startswith(card_services.CARD_PREFIX) for n in numbers)
    assert set(Card.objects.values_list("state", flat=True)) == {"issued"}
    batch = CardBatch.objects.get()
    assert (batch.name, batch.size, batch.cards.count()) == ("Май-2026", 250, 250)
    assert len({bytes(c.totp_secret) for c in Card.objects.all()}) == 250


def test_issue_cards_refuses_a_second_batch_of_the_same_name_and_absurd_counts():
    card_services.issue_cards(count=1, batch_name="B")
    with pytest.raises(Conflict):
        card_services.issue_cards(count=1, batch_name="B")
    with pytest.raises(ValidationFailed):
        card_services.issue_cards(count=0)
    assert Card.objects.count() == 1


def test_activation_creates_the_account_at_the_first_level():
    LevelFactory(name="Золотой", threshold_kopecks=2_000_000, rate_bp=150)
    first = LevelFactory(name="Базовый", threshold_kopecks=0, rate_bp=50)
    card = issued_card()
    user = UserFactory()

    account = card_services.activate_card(
        card=card, user=user, first_name=" Анна ", birth_date=date(1990, 1, 2), at=NOW
    )

    card.refresh_from_db()
    assert (card.state, card.account_id, card.activated_at) == ("active", account.pk, NOW)
    assert (account.first_name, account.level, account.activated_at) == ("Анна", first, NOW)
    with pytest.raises(Conflict) as refused:
        card_services.activate_card(card=card, user=UserFactory(), first_name="Б", birth_date=None)
    assert refused.value.code == "card_already_active"
    with pytest.raises(Conflict) as refused:  # one active card per member (L-ACT-5)
        card_services.activate_card(card=issued_card(), user=user, first_name="А", birth_date=None)
    assert refused.value.code == "account_has_card"


def test_a_blocked_card_cannot_be_activated():
    card = issued_card()
    card_services.block_card(card=card, reason="брак печати")
    with pytest.raises(RuleViolation) as refused:
        card_services.activate_card(card=card, user=UserFactory(), first_name="А", birth_date=None)
    assert refused.value.code == "card_blocked"


def test_block_is_audited_and_only_once():
    _, card = member()
    staff = StaffFactory()

    card_services.block_card(card=card, reason="утеряна", actor=staff)

    card.refresh_from_db()
    assert (card.state, card.block_reason) == ("blocked", "утеряна")
    entry = AuditEntry.objects.get(action="loyalty.card.block")
    assert (entry.actor, entry.object_id, entry.reason) == (staff, str(card.pk), "утеряна")
    with pytest.raises(Conflict):
        card_services.block_card(card=card, reason="ещё раз")


def test_replacement_moves_the_balance_and_keeps_the_history():
    """L-CARD-2: the balance belongs to the account, so the new card shows it at once."""
    account, old = member()
    give_points(account, 12_345)
    till, _ = terminal()
    commit_purchase(
        terminal=till, card=old, receipt=receipt(100_000), redeem=0, idempotency_key="k", now=NOW
    )
    card_services.block_card(card=old, reason="утеряна")
    new = issued_card()

    card_services.replace_card(old=old, new=new, actor=StaffFactory())

    old.refresh_from_db()
    found = card_services.lookup_card(raw=new.number, at=NOW)
    assert (found.state, found.account_id, found.account.balance) == ("active", account.pk, 12_845)
    assert old.replaced_by_id == new.pk
    assert LedgerEntry.objects.filter(account=account).count() == 2  # history kept, nothing moved
    with pytest.raises(RuleViolation) as refused:
        commit_purchase(
            terminal=till,
            card=fresh_card(old),
            receipt=receipt(1_000, number="R-2"),
            redeem=0,
            idempotency_key="k-2",
            now=NOW,
        )
    assert refused.value.code == "card_blocked"
    result = commit_purchase(
        terminal=till,
        card=found,
        receipt=receipt(1_000, number="R-3"),
        redeem=1_000,
        idempotency_key="k-3",
        now=NOW,
    )
    assert result.balance == 12_845 - 1_000
    with pytest.raises(Conflict):
        card_services.replace_card(old=old, new=issued_card())


def test_replacing_an_active_card_blocks_it():
    account, old = member()
    new = issued_card()

    card_services.replace_card(old=old, new=new)

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, new.state, new.account_id) == ("blocked", "active", account.pk)


def test_a_virtual_card_replaces_the_plastic_one():
    account, plastic = member()

    virtual = card_services.issue_virtual_card(account=account, at=NOW)

    plastic.refresh_from_db()
    assert (virtual.virtual, virtual.state, virtual.account_id) == (True, "active", account.pk)
    assert (plastic.state, plastic.replaced_by_id) == ("blocked", virtual.pk)
    assert cardnumbers.is_valid_card_number(virtual.number)


def test_a_lost_card_is_not_replaced_when_the_member_already_has_another_active_card():
    """L-ACT-5: blocked plastic, then a virtual card; replacing the plastic too would make two."""
    account, plastic = member()
    card_services.block_card(card=plastic, reason="потеряна")
    virtual = card_services.issue_virtual_card(account=account, at=NOW)
    spare = issued_card()

    with pytest.raises(Conflict) as refused:
        card_services.replace_card(old=plastic, new=spare)

    assert refused.value.code == "account_has_card"
    spare.refresh_from_db()
    virtual.refresh_from_db()
    assert (spare.state, spare.account_id, virtual.state) == ("issued", None, "active")


def test_lookup_refuses_typos_and_unknown_numbers():
    with pytest.raises(ValidationFailed) as refused:
        card_services.lookup_card(raw="2770 0000 0000 0001")
    assert refused.value.code == "invalid_card_number"
    with pytest.raises(NotFound) as refused:
        card_services.lookup_card(raw=cardnumbers.complete_card_number("999999999999999"))
    assert refused.value.code == "card_not_found"
    card = issued_card()
    assert card_services.lookup_card(raw=cardnumbers.format_card_number(card.number)) == card


def test_qr_lookup_accepts_a_fresh_code_once():
    account, _ = member()
    virtual = card_services.issue_virtual_card(account=account, at=NOW)
    till, _ = terminal()
    other_till, _ = terminal(till.store)
    payload = card_services.qr_payload(card=virtual, at=NOW)

    found = card_services.lookup_card(raw=payload, at=NOW + timedelta(seconds=5), terminal=till)
    assert found.pk == virtual.pk and found.account.pk == account.pk
    # The same till may scan it again while it is fresh (lookup, calculate, commit) ...
    card_services.lookup_card(raw=payload, at=NOW + timedelta(seconds=20), terminal=till)
    # ... but a screenshot shown at another till is a replay.
    with pytest.raises(ValidationFailed) as refused:
        card_services.lookup_card(raw=payload, at=NOW + timedelta(seconds=25), terminal=other_till)
    assert refused.value.code == "qr_code_replayed"

    newer = card_services.qr_payload(card=virtual, at=NOW + timedelta(seconds=60))
    card_services.lookup_card(raw=newer, at=NOW + timedelta(seconds=60), terminal=other_till)
    with pytest.raises(ValidationFailed) as refused:  # an older code after a newer one
        card_services.lookup_card(raw=payload, at=NOW + timedelta(seconds=30), terminal=till)
    assert refused.value.code == "qr_code_replayed"


def test_qr_lookup_refuses_an_expired_or_foreign_code():
    account, _ = member()
    virtual = card_services.issue_virtual_card(account=account, at=NOW)
    payload = card_services.qr_payload(card=virtual, at=NOW)

    with pytest.raises(ValidationFailed) as refused:
        card_services.lookup_card(raw=payload, at=NOW + timedelta(minutes=5))
    assert refused.value.code == "qr_code_expired"

    forged = cardnumbers.build_qr_payload(virtual.number, b"x" * 20, at=NOW)
    with pytest.raises(ValidationFailed) as refused:
        card_services.lookup_card(raw=forged, at=NOW)
    assert refused.value.code == "qr_code_expired"
    with pytest.raises(ValidationFailed) as refused:
        card_services.lookup_card(raw="KB1:garbage", at=NOW)
    assert refused.value.code == "invalid_card_number"


def test_card_price_at_the_till():
    """L-CARD-3: 25.00 RUB, free with a purchase of 500.00 RUB or more."""
    card = issued_card()
    assert card_services.sell_card(card=card, receipt_total_kopecks=49_999) == 2_500
    assert card_services.sell_card(card=card, receipt_total_kopecks=50_000) == 0
    ProgramSettings.objects.filter(pk=1).update(card_price_kopecks=3_000)
    ProgramSettings.forget_cached()
    assert card_services.sell_card(card=card, receipt_total_kopecks=0) == 3_000
    card.refresh_from_db()
    assert card.sold_at is not None
    _, active = member()
    with pytest.raises(Conflict) as refused:
        card_services.sell_card(card=active, receipt_total_kopecks=0)
    assert refused.value.code == "card_already_active"


def test_terminal_token_is_shown_once_stored_hashed_and_revocable():
    store = StoreFactory()

    created, token = create_terminal(store=store, name="Касса 2")

    assert token not in created.token_hash and len(created.token_hash) == 64
    assert authenticate_terminal(token) == created
    assert authenticate_terminal(token + "x") is None
    assert authenticate_terminal("") is None
    assert revoke_terminal(terminal=created) is True
    assert revoke_terminal(terminal=created) is False
    assert authenticate_terminal(token) is None
