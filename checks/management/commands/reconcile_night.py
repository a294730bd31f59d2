from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Tenant
from checks.nights import night_of
from checks.reconcile import reconcile_night
from nattillsyn import clock


class Command(BaseCommand):
    help = "Reconcile a night: every check and its end state; open checks are incidents. Exit 1 if any."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--night", help="YYYY-MM-DD, the date the night begins (default: last night)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = clock.now()
        try:
            night = date.fromisoformat(options["night"]) if options["night"] else night_of(now) - timedelta(days=1)
        except ValueError as exc:
            raise CommandError(f"--night {options['night']!r}: use YYYY-MM-DD") from exc
        incidents = 0
        for tenant in Tenant.objects.all():
            result = reconcile_night(tenant, night, now=now)
            incidents += len(result.incident_check_ids)
            self.stdout.write(
                f"{tenant.name} {night}: {result.checks_total} checks {result.end_states} "
                f"incidents={len(result.incident_check_ids)}"
            )
        if incidents:
            raise CommandError(f"{incidents} check(s) without an end state")
