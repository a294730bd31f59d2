from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.records import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit non-zero if any entry was changed, deleted or reordered."

    def handle(self, *args: Any, **options: Any) -> None:
        count, problems = verify_chain()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"audit chain broken: {len(problems)} problem(s) in {count} entries")
        self.stdout.write(f"audit chain intact: {count} entries")
