"""The alert rules shipped in deploy/prometheus, checked and unit-tested by Prometheus'
own promtool against recorded series (every alert firing and staying quiet)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus)")


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    result = subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_rules_are_valid() -> None:
    assert "SUCCESS: 9 rules found" in promtool("check", "rules", "alerts.yml")


def test_every_alert_fires_on_its_recorded_series_and_only_then() -> None:
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


def test_the_sample_scrape_configuration_is_valid(tmp_path: Path) -> None:
    token = tmp_path / "metrics-token"
    token.write_text("a-token\n")
    config = (PROMETHEUS / "prometheus.yml").read_text().replace("/etc/nattillsyn/metrics-token", str(token))
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    promtool("check", "config", "prometheus.yml", cwd=tmp_path)
