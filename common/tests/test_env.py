"""The environment readers' rules, shared by the web side and the gateway (common/env.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.env import ConfigError, env_bool, env_choice, env_float, env_int, env_list, env_str


def test_unset_or_empty_gives_the_default_and_values_are_stripped() -> None:
    assert env_str("X", "d", environ={}) == "d"
    assert env_str("X", "d", environ={"X": "  "}) == "d"
    assert env_str("X", "d", environ={"X": " v "}) == "v"
    assert env_int("X", 3, environ={"X": ""}) == 3
    assert env_int("X", 3, environ={"X": " 7 "}) == 7
    assert env_float("X", 0.5, environ={"X": ""}) == 0.5
    assert env_bool("X", True, environ={"X": ""}) is True
    assert env_bool("X", False, environ={"X": " Yes "}) is True
    assert env_list("X", "a, b,,", environ={}) == ["a", "b"]
    assert env_choice("X", "a", ("a", "b"), environ={"X": "b"}) == "b"


@pytest.mark.parametrize(
    "read",
    [
        lambda: env_int("X", 1, environ={"X": "1.5"}),
        lambda: env_int("X", 1, minimum=0, environ={"X": "-1"}),
        lambda: env_float("X", 1.0, environ={"X": "nan"}),
        lambda: env_float("X", 1.0, maximum=2, environ={"X": "3"}),
        lambda: env_bool("X", True, environ={"X": "maybe"}),
        lambda: env_choice("X", "a", ("a", "b"), environ={"X": "c"}),
        lambda: env_str("X", "", environ={"X": "a", "X_FILE": "/etc/hostname"}),
        lambda: env_str("X", "", environ={"X_FILE": "/nonexistent/secret"}),
    ],
)
def test_a_bad_value_fails_loudly(read) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        read()


def test_a_string_may_come_from_a_file_but_not_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "empty").write_text("\n")
    assert env_str("X", "", environ={"X_FILE": str(tmp_path / "secret")}) == "s3cret"
    with pytest.raises(ConfigError, match="empty"):
        env_str("X", "", environ={"X_FILE": str(tmp_path / "empty")})
