"""`manage.py check --deploy` passes with production settings, and production refuses to
start with a demo default for any secret."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NATTILLSYN_", "DJANGO_"))}
    env.update(
        {
            "NATTILLSYN_DEMO": "false",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "nattillsyn.example.se",
            "CSRF_TRUSTED_ORIGINS": "https://nattillsyn.example.se",
            "NATTILLSYN_GRANT_KEY": secrets.token_hex(32),
            "NATTILLSYN_GATEWAY_TOKEN": secrets.token_hex(32),
            "NATTILLSYN_AUDIT_KEY": secrets.token_hex(32),
            "NATTILLSYN_CAMERA_CREDENTIALS_KEY": Fernet.generate_key().decode(),
            "DB": "sqlite",  # the check does not connect; the database is not what is checked
        }
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_deploy_check_passes_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_will_not_start_with_a_missing_secret() -> None:
    for name in ("SECRET_KEY", "NATTILLSYN_GRANT_KEY", "NATTILLSYN_AUDIT_KEY", "NATTILLSYN_CAMERA_CREDENTIALS_KEY"):
        env = production_env()
        del env[name]
        result = manage("check", env=env)
        assert result.returncode != 0 and name in result.stderr, name


def test_the_demo_settings_would_fail_the_deploy_check() -> None:
    """The check is real: the embedded demo's settings (no HTTPS, demo keys) do not pass."""
    env = production_env(NATTILLSYN_DEMO="true", SECRET_KEY="demo-secret-key-change-me")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
