"""The role × action table in docs/ACCESS_RULES.md, one test per cell.

The table is the specification: each row is an action (method and path), each column a
role. For every cell a user holding only that role in the same municipality performs
the action on real objects of that municipality, and must be allowed (✔) or refused
with 403/404 (✘). A URL with no row in the table fails its own test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from nattillsyn.testing import Municipality, SecondFactorClient
from nattillsyn.tests.test_tenant_walk import all_patterns, fill, home_world  # noqa: F401  (the same world)

pytestmark = pytest.mark.django_db

TABLE = Path(__file__).resolve().parents[2] / "docs" / "ACCESS_RULES.md"
# Paths outside the role table (and internal/, mfa/, sso/): "Not bound to a role" in the same document.
NOT_ROLE_BOUND = ("", "health", "metrics", "favicon.ico", "login/", "logout/", "i18n/setlang/", "admin/")
REFUSED = (403, 404)


def read_table() -> tuple[list[str], list[tuple[str, str, dict[str, bool]]]]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("| method | path | action |"))
    roles = [cell.strip() for cell in lines[header_at].strip("|").split("|")[3:]]
    rows = []
    for line in lines[header_at + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        method, path, marks = cells[0], cells[1].strip("`"), cells[3:]
        assert len(marks) == len(roles) and set(marks) <= {"✔", "✘"}, line
        rows.append((method, path, {role: mark == "✔" for role, mark in zip(roles, marks, strict=True)}))
    return roles, rows


ROLES, ROWS = read_table()
CELLS = [(method, path, role, allowed[role]) for method, path, allowed in ROWS for role in ROLES]


def test_the_table_has_every_role_and_every_url() -> None:
    from accounts.models import Role

    assert sorted(ROLES) == sorted(Role.values)
    in_table = {path.lstrip("/") for _method, path, _allowed in ROWS}
    role_bound = {
        route
        for route in all_patterns()
        if route not in NOT_ROLE_BOUND and not route.startswith(("internal/", "mfa/", "sso/"))
    }
    assert role_bound - in_table == set(), "URLs without a row in docs/ACCESS_RULES.md"
    assert in_table - role_bound == set(), "rows in docs/ACCESS_RULES.md for URLs that do not exist"


@pytest.mark.parametrize(("method", "path", "allowed"), ROWS, ids=[f"{m} {p}" for m, p, _ in ROWS])
def test_each_role_may_do_exactly_what_the_table_says(
    method: str,
    path: str,
    allowed: dict[str, bool],
    home: Municipality,
    home_world: dict[str, int],  # noqa: F811
    headline: Callable[[str, object], None],
) -> None:
    """One row: every role's cell, each with a user holding only that role."""
    wrong = []
    for role, may in allowed.items():
        client: Client = SecondFactorClient()
        client.force_login(home.user(role))
        response = getattr(client, method.lower())(fill(path.lstrip("/"), home_world))
        to_login = response.status_code == 302 and re.match(r"/(login|mfa)/", response.get("Location", ""))
        refused = response.status_code in REFUSED or bool(to_login)
        if refused == may:
            wrong.append(f"{role}: {'refused' if refused else 'allowed'} ({response.status_code})")
    headline("security.role_table_cells", len(CELLS))
    assert wrong == []
