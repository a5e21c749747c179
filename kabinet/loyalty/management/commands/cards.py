"""`kabinet cards issue --count N [--batch NAME] [--csv FILE]`: produce a batch of plastic cards."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kabinet.core.errors import DomainError
from kabinet.loyalty.services import cards as card_services


class Command(BaseCommand):
    help = "Card batches (L-CARD-3): `cards issue --count N [--batch NAME] [--csv FILE]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        issue = sub.add_parser("issue", help="issue a batch of plastic cards")
        issue.add_argument("--count", type=int, required=True, help="how many cards")
        issue.add_argument("--batch", default=None, help="batch name (default: from the time)")
        issue.add_argument(
            "--csv", default=None, help="write number, batch, barcode payload for the printer"
        )

    def handle(self, *args, **options) -> None:
        if options["action"] == "issue":
            self._issue(count=options["count"], batch=options["batch"], csv_path=options["csv"])

    def _issue(self, *, count: int, batch: str | None, csv_path: str | None) -> None:
        try:
            issued = card_services.issue_cards(count=count, batch_name=batch)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        made = issued[0].batch
        assert made is not None  # issue_cards always makes a batch
        batch_name = made.name
        if csv_path:
            with Path(csv_path).open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(["number", "batch", "barcode"])
                for card in issued:
                    # The plastic card's Code 128 barcode carries the 16 digits (L-CARD-1).
                    writer.writerow([card.number, batch_name, card.number])
        for card in issued:
            self.stdout.write(card.number)
        self.stderr.write(f"batch {batch_name}: {len(issued)} cards")
