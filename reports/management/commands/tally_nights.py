from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from nattillsyn import clock
from reports.tally import tally_recent_nights


class Command(BaseCommand):
    help = (
        "Count the settled nights once for the monthly report (reports.NightTally), so no "
        "render has to. Safe to run again; the worker runs it daily after reconciling the night."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", help="YYYY-MM-DD, the first night (default: 40 nights back)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since = date.fromisoformat(options["since"]) if options["since"] else None
        except ValueError as exc:
            raise CommandError(f"--since {options['since']!r}: use YYYY-MM-DD") from exc
        nights = tally_recent_nights(clock.now(), since=since)
        self.stdout.write(f"{nights} nights with checks looked at (all municipalities)")
