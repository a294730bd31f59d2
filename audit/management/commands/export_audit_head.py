from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.records import export_head
from nattillsyn import clock


class Command(BaseCommand):
    help = (
        "Append every audit chain's head (newest entry id and hash; one chain per municipality and one for the "
        "platform) as one line to a file that is only ever appended to. "
        "Run it on a schedule (the worker does, hourly, when AUDIT_HEAD_EXPORT_PATH is set) and keep the "
        "file where the database's owner cannot rewrite it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--to", required=True, help="the file to append to")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            line = export_head(options["to"], clock.now())
        except OSError as exc:
            raise CommandError(f"cannot append to {options['to']}: {exc}") from exc
        if line is None:
            self.stdout.write("the audit log is empty: nothing exported")
        else:
            self.stdout.write(f"heads of {len(line['heads'])} chains exported")
