from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.records import enforce_retention
from nattillsyn import clock


class Command(BaseCommand):
    help = (
        "Remove audit entries older than the retention period (AUDIT_RETENTION_DAYS, default 5 years), "
        "keeping the rest of the chain verifiable. The worker runs it daily."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, help=f"override the retention (now {settings.AUDIT_RETENTION_DAYS})")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        removed = enforce_retention(clock.now(), days=days)
        self.stdout.write(f"{removed} audit entries past their retention removed")
