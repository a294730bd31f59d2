"""Produce a month's letters "who looked at me" for a whole municipality.

manage.py produce_letters --tenant exempelby --month 2026-11   # request and make one batch now
manage.py produce_letters                                     # make the batches requested on the page
manage.py produce_letters --loop                              # keep doing so (Procfile: letters)
"""

from __future__ import annotations

import signal
import time
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Tenant
from letters import actions


class Command(BaseCommand):
    help = "Produce the letters 'who looked at me' of a month (requested batches, or one for --tenant)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="municipality slug: request a batch for it now")
        parser.add_argument("--month", help="YYYY-MM (with --tenant)")
        parser.add_argument("--user", help="user name the batch is requested by (with --tenant)")
        parser.add_argument("--loop", action="store_true", help="keep taking requested batches")
        parser.add_argument("--interval", type=float, default=5.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"no municipality {options['tenant']!r}")
            try:
                year, month_number = (int(part) for part in (options["month"] or "").split("-"))
                month = date(year, month_number, 1)
            except ValueError as exc:
                raise CommandError("--month YYYY-MM is needed with --tenant") from exc
            user = get_user_model().objects.filter(username=options["user"] or "").first()
            if user is None:
                raise CommandError("--user: the user name the letters are produced by (audited)")
            actions.request_batch(tenant, actor=user, month=month)
        stopping = False

        def stop(*_args: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            batch = actions.claim_batch()
            if batch is not None:
                batch = actions.run_batch(batch)
                self.stdout.write(f"letters {batch.month:%Y-%m} {batch.tenant.slug}: {batch.done} -> {batch.file_name}")
                continue
            if not options["loop"]:
                return
            time.sleep(options["interval"])
