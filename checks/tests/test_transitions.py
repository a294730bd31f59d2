"""The table of allowed check states: complete, asked by every change, and refusing the rest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.actions.transitions import ALLOWED_TRANSITIONS, IllegalTransition, move
from checks.models import END_CHECK_STATES, OPEN_CHECK_STATES, Check, CheckState

ROOT = Path(__file__).resolve().parents[2]
TRANSITIONS = ROOT / "checks" / "actions" / "transitions.py"
# Modules that build checks in a state rather than move one: the demo's past nights are
# written as history (bulk_create), never changed afterwards.
BUILDS_CHECKS = {ROOT / "accounts" / "management" / "demo_night.py"}


def test_it_lists_every_state_and_ends_nothing_that_ended() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(CheckState.values)
    assert {state for state, targets in ALLOWED_TRANSITIONS.items() if targets} == set(OPEN_CHECK_STATES)
    for state in END_CHECK_STATES:
        assert ALLOWED_TRANSITIONS[state] == frozenset()


@given(st.sampled_from(CheckState.values), st.sampled_from(CheckState.values))
def test_it_moves_only_along_the_table(start: str, target: str) -> None:
    check = Check(state=start)
    if target in ALLOWED_TRANSITIONS[start]:
        move(check, target)
        assert check.state == target
    else:
        with pytest.raises(IllegalTransition):
            move(check, target)
        assert check.state == start


def test_it_refuses_reopening_an_ended_check() -> None:
    with pytest.raises(IllegalTransition):
        move(Check(state=CheckState.DONE), CheckState.DUE)
    with pytest.raises(IllegalTransition):
        move(Check(state=CheckState.VISIT_PENDING), CheckState.IN_PROGRESS)


def _production_modules() -> list[Path]:
    skipped = {".venv", "node_modules", "migrations", "tests", "e2e", "benchmarks", "simcam", "gateway"}
    return [
        path
        for path in ROOT.rglob("*.py")
        if not skipped & set(path.relative_to(ROOT).parts) and path.name not in {"conftest.py", "testing.py"}
    ]


def _sets_check_state(node: ast.AST) -> bool:
    """``x.state = …`` with a CheckState or on a name that says check, or ``update(state=CheckState…)``."""
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        flat = [t for target in targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
        for target in flat:
            if isinstance(target, ast.Attribute) and target.attr == "state":
                owner = ast.unparse(target.value)
                if "check" in owner.lower() or "CheckState" in ast.unparse(node.value or ast.Constant(None)):
                    return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update":
        return any(kw.arg == "state" and "CheckState" in ast.unparse(kw.value) for kw in node.keywords)
    return False


def test_it_is_the_only_place_that_sets_a_checks_state() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _production_modules()
        if path != TRANSITIONS and path not in BUILDS_CHECKS
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if _sets_check_state(node)
    ]
    assert offenders == [], "set a check's state through checks.actions.transitions.move"
