"""Report tables, shown in the page and exported as CSV from the same rows.

Each report page builds its tables once; ``?format=csv&table=<slug>`` on the same
address returns one of them, so every table on screen has its CSV with the same
figures and access rules.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpResponse
from django.utils.text import slugify

from nattillsyn.clock import STOCKHOLM


@dataclass
class Table:
    slug: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    footer: list[Any] | None = None
    # Optional per-row CSS class for the page (e.g. an open escalation).
    row_classes: list[str] = field(default_factory=list)

    def rows_with_classes(self) -> list[tuple[str, list[Any]]]:
        classes = self.row_classes or [""] * len(self.rows)
        return list(zip(classes, self.rows, strict=True))


def cell(value: Any) -> Any:
    """A value as shown: local times, ISO dates, yes/no; numbers stay numbers."""
    from django.utils.translation import gettext as _

    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | int | float):
        return value
    return str(value)


# A spreadsheet runs a cell starting with one of these as a formula: a person's name or
# a free-text note must never become one (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value: Any) -> Any:
    value = cell(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(tables: Sequence[Table], slug: str, filename_stem: str) -> HttpResponse:
    table = next((table for table in tables if table.slug == slug), None)
    if table is None:
        raise Http404
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(filename_stem)}-{table.slug}.csv"'
    # The byte-order mark makes spreadsheet programs read åäö as UTF-8.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([csv_value(value) for value in row])
    if table.footer:
        writer.writerow([csv_value(value) for value in table.footer])
    return response
