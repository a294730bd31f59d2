from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Tenant
from checks.nights import night_of
from nattillsyn import clock
from reports.figures import analytic_queries
from reports.tally import tally_settled_nights


class Command(BaseCommand):
    help = (
        "Count the settled nights once for the monthly report (reports.NightTally), so no "
        "render has to. Safe to run again; run it daily, e.g. after the morning."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", help="YYYY-MM-DD, the first night (default: 40 nights back)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = clock.now()
        end = night_of(now) + timedelta(days=1)
        try:
            first = date.fromisoformat(options["since"]) if options["since"] else end - timedelta(days=40)
        except ValueError as exc:
            raise CommandError(f"--since {options['since']!r}: use YYYY-MM-DD") from exc
        for tenant in Tenant.objects.all():
            with analytic_queries():
                nights = tally_settled_nights(tenant, first, end, now=now)
            self.stdout.write(f"{tenant.name}: {nights} nights with checks since {first} looked at")
