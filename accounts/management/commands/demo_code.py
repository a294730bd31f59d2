"""Print the current login code of the demo users (demo only)."""

from typing import Any

import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands.seed_demo import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the demo users' current second-factor code."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("only in the demo (NATTILLSYN_DEMO=true)")
        self.stdout.write(pyotp.TOTP(DEMO_TOTP_SECRET).now())
