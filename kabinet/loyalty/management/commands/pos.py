"""`kabinet pos …`: till credentials and store codes (L-POS-3).

kabinet pos terminal create --store CODE --name NAME   prints the new token, once
kabinet pos terminal revoke ID
kabinet pos stores [--region CODE]                     code, region, takes part, name
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kabinet.core.errors import DomainError
from kabinet.loyalty.models import Store, Terminal
from kabinet.loyalty.services import terminals as terminal_services


class Command(BaseCommand):
    help = (
        "Till integration: `pos terminal create --store CODE --name NAME`, "
        "`pos terminal revoke ID`, `pos stores [--region CODE]`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        terminal = sub.add_parser("terminal", help="till credentials")
        terminal_sub = terminal.add_subparsers(dest="terminal_action", required=True)
        create = terminal_sub.add_parser(
            "create", help="a new terminal of a store; prints its token once"
        )
        create.add_argument("--store", required=True, help="the store's code")
        create.add_argument("--name", required=True, help="the till's name, e.g. «Касса 1»")
        revoke = terminal_sub.add_parser("revoke", help="stop a terminal's token from working")
        revoke.add_argument("id", type=int, help="the terminal's id")
        stores = sub.add_parser("stores", help="list store codes")
        stores.add_argument("--region", default=None, help="only this region's code")

    def handle(self, *args, **options) -> None:
        if options["action"] == "stores":
            self._stores(region=options["region"])
        elif options["terminal_action"] == "create":
            self._create(store_code=options["store"], name=options["name"])
        else:
            self._revoke(terminal_id=options["id"])

    def _create(self, *, store_code: str, name: str) -> None:
        store = Store.objects.filter(code=store_code).first()
        if store is None:
            raise CommandError(f"no store with code {store_code!r} (see `kabinet pos stores`)")
        try:
            terminal, token = terminal_services.create_terminal(store=store, name=name)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        # The token alone on stdout, so a script can capture it; it is never shown again.
        self.stdout.write(token)
        self.stderr.write(
            f"terminal {terminal.pk} ({store.code} / {terminal.name}): keep this token, "
            "it is stored only as a hash and cannot be shown again"
        )

    def _revoke(self, *, terminal_id: int) -> None:
        terminal = Terminal.objects.select_related("store").filter(pk=terminal_id).first()
        if terminal is None:
            raise CommandError(f"no terminal {terminal_id}")
        if terminal_services.revoke_terminal(terminal=terminal):
            self.stdout.write(f"terminal {terminal.pk} ({terminal}) revoked")
        else:
            self.stdout.write(f"terminal {terminal.pk} ({terminal}) was already revoked")

    def _stores(self, *, region: str | None) -> None:
        stores = Store.objects.select_related("region").order_by("code")
        if region:
            stores = stores.filter(region__code=region)
        for store in stores.iterator(chunk_size=2000):
            takes_part = "yes" if store.takes_part else "no"
            self.stdout.write(f"{store.code}\t{store.region.code}\t{takes_part}\t{store.name}")
