"""`kabinet loyalty reconcile`: prove every cached balance equals its ledger."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kabinet.loyalty import rules
from kabinet.loyalty.selectors import reconciliation_differences
from kabinet.loyalty.services.holds import expire_holds


class Command(BaseCommand):
    help = "Loyalty maintenance: `loyalty reconcile`, `loyalty expire-holds`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "reconcile", help="compare every balance to its ledger; non-zero exit on a difference"
        )
        sub.add_parser("expire-holds", help="release two-phase holds past their expiry")

    def handle(self, *args, **options) -> None:
        if options["action"] == "expire-holds":
            self.stdout.write(f"released {expire_holds()} holds")
            return
        differences = reconciliation_differences()
        show = rules.kopecks_to_rub_str
        for d in differences:
            self.stdout.write(
                f"account {d.account_id}: balance {show(d.balance)} ledger {show(d.ledger_sum)}"
                f" held {show(d.held)} open holds {show(d.holds_sum)}"
            )
        if differences:
            raise CommandError(f"{len(differences)} account(s) disagree with the ledger")
        self.stdout.write("ledger and balances agree")
