"""Settings from the environment: defaults, files for secrets, loud failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, GatewayConfig


def test_the_defaults_are_the_contract_demo_values() -> None:
    config = GatewayConfig.from_env({})
    assert (config.gateway_id, config.bind_host, config.bind_port) == ("gw1", "127.0.0.1", 8010)
    assert config.control_url == "http://127.0.0.1:8000"
    assert config.grant_key == b"demo-grant-key-change-me"
    assert config.allowed_origins == ("http://127.0.0.1:8000", "http://localhost:8000")


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("file-key\n")
    config = GatewayConfig.from_env({"NATTILLSYN_GRANT_KEY_FILE": str(key_file)})
    assert config.grant_key == b"file-key"


@pytest.mark.parametrize(
    "env",
    [
        {"GATEWAY_BIND": "8010"},
        {"GATEWAY_BIND": "127.0.0.1:99999"},
        {"NATTILLSYN_CONTROL_URL": "ftp://x"},
        {"GATEWAY_ALLOWED_ORIGINS": "http://ok:8000,https://bad.example/path"},
        {"GATEWAY_REVOKE_POLL_S": "soon"},
        {"GATEWAY_REVOKE_POLL_S": "10"},  # would break the 5 s revocation promise
        {"GATEWAY_REVOKE_GRACE_S": "nan"},
        {"GATEWAY_BURST_RETIME": "fast"},
        {"GATEWAY_PACING_KBIT": "-1"},
        {"GATEWAY_VIEWER_QUEUE_PACKETS": "1.5"},
        {"GATEWAY_TRUSTED_PROXY_COUNT": "-1"},
        {"NATTILLSYN_GRANT_KEY_FILE": "/nonexistent/key"},
        {"NATTILLSYN_GRANT_KEY": "a", "NATTILLSYN_GRANT_KEY_FILE": "/etc/hostname"},
    ],
)
def test_bad_values_fail_loudly(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        GatewayConfig.from_env(env)


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        GatewayConfig.from_env({"NATTILLSYN_GATEWAY_TOKEN_FILE": str(tmp_path / "empty")})


def test_an_empty_variable_means_the_default_as_on_the_web_side() -> None:
    """The gateway and the web side read the environment with the same rules (common/env.py)."""
    config = GatewayConfig.from_env({"GATEWAY_ID": " ", "GATEWAY_REVOKE_POLL_S": "", "NATTILLSYN_DEMO": ""})
    assert (config.gateway_id, config.revoke_poll_s, config.demo) == ("gw1", 1.0, True)


def test_the_gateway_reads_the_environment_without_django() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import gateway.config; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'nattillsyn')))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_pacing_is_on_by_default_and_zero_turns_it_off() -> None:
    assert GatewayConfig.from_env({}).pacing_kbit == 16_000
    assert GatewayConfig.from_env({"GATEWAY_PACING_KBIT": "0"}).pacing_kbit == 0
