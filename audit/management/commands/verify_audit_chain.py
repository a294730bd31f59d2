from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.records import verify_chain, verify_heads


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chains (one per municipality, one for the platform); "
        "exit non-zero if any entry was changed, deleted, moved or reordered."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--heads", help="a file of exported chain heads (export_audit_head) to check too")

    def handle(self, *args: Any, **options: Any) -> None:
        count, problems = verify_chain()
        if options.get("heads"):
            try:
                heads, head_problems = verify_heads(options["heads"])
            except OSError as exc:
                raise CommandError(f"cannot read {options['heads']}: {exc}") from exc
            problems += head_problems
            self.stdout.write(f"{heads} exported heads checked")
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"audit chain broken: {len(problems)} problem(s) in {count} entries")
        self.stdout.write(f"audit chains intact: {count} entries")
