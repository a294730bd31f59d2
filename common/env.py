"""Typed readers for settings from environment variables: one set of rules for the web
side (``nattillsyn/settings.py``) and the gateway (``gateway/config.py``).

The rules:

- a value is read without surrounding whitespace; a variable that is unset or empty
  gives the default (a deployment writes ``NAME=`` to mean "not set");
- a value that does not parse, or lies outside the allowed range or choices, stops the
  process at start with a ConfigError naming the variable: a typo must not run silently
  with a default (for the gateway that would be a privacy bug, not a convenience);
- any string, secrets in particular, may instead come from the file named by
  ``NAME_FILE`` (its contents without surrounding whitespace); setting both, or naming a
  file that cannot be read or is empty, is an error;
- booleans are 1/true/yes/on and 0/false/no/off, in any case.

``environ`` is ``os.environ`` unless given (the gateway reads a mapping it is handed, so
its tests need no process environment).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """An environment variable holds a value the process cannot use."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    """The variable's value without surrounding whitespace, or None when unset or empty."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or None


def env_str(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    file_name = _raw(f"{name}_FILE", environ)
    if file_name is None:
        value = _raw(name, environ)
        return default if value is None else value
    if _raw(name, environ) is not None:
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    try:
        value = Path(file_name).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from exc
    if not value:
        raise ConfigError(f"{name}_FILE: {file_name} is empty")
    return value


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    raw = _raw(name, environ)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from exc
    _check_range(name, raw, value, minimum, maximum)
    return value


def env_float(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    raw = _raw(name, environ)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc
    if value != value:  # NaN compares with nothing, so no range would refuse it
        raise ConfigError(f"{name}={raw!r} is not a number")
    _check_range(name, raw, value, minimum, maximum)
    return value


def _check_range(name: str, raw: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(f"{name}={raw!r} must be between {minimum} and {maximum}")


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    raw = _raw(name, environ)
    if raw is None:
        return default
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def env_list(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> list[str]:
    """Comma-separated items, each without surrounding whitespace; empty items dropped."""
    return [item.strip() for item in env_str(name, default, environ=environ).split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None) -> str:
    value = env_str(name, default, environ=environ)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value
