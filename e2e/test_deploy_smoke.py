"""The production deployment, run: the processes exactly as deploy/systemd starts them,
production settings (NATTILLSYN_DEMO=false, real secrets, PostgreSQL), behind the nginx
reverse proxy of deploy/nginx with a self-signed certificate, and a smoke night in
Chromium through it: login with the second factor, a check with a picture, an
escalation the night patrol sees. `make deploy-test` runs this file alone.

Containers (deploy/Containerfile, deploy/compose.yaml) are not run here: the test
machine has no container runtime set up for nested namespaces; the same processes are.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from cryptography.fernet import Fernet

from e2e.conftest import CAMERAS, free_port, stop, wait_for_http
from nattillsyn.testing import PASSWORD, TEST_TOTP_SECRET

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.environ.get("DB") != "postgres", reason="production runs on PostgreSQL (the PostgreSQL run)"),
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx (Debian package) not installed"),
]


def unit_command(unit: str, instance: str = "0") -> tuple[list[str], dict[str, str]]:
    """ExecStart and Environment= of a unit in deploy/systemd, for this checkout."""
    command: list[str] = []
    env: dict[str, str] = {}
    for line in (DEPLOY / "systemd" / unit).read_text().splitlines():
        line = line.replace("%i", instance).replace("%H", "smoke").replace("/opt/nattillsyn", str(ROOT))
        if line.startswith("ExecStart="):
            command = shlex.split(line.removeprefix("ExecStart="))
        elif line.startswith("Environment="):
            key, _, value = line.removeprefix("Environment=").partition("=")
            env[key] = value
    assert command, unit
    return command, env


def production_env(tmp: Path, ports: dict[str, int], database: str) -> dict[str, str]:
    """deploy/nattillsyn.env.example with this machine's addresses and fresh secrets."""
    secret_dir = tmp / "secrets"
    secret_dir.mkdir()
    values = {
        "secret_key": secrets.token_urlsafe(32),
        "grant_key": secrets.token_urlsafe(32),
        "gateway_token": secrets.token_urlsafe(32),
        "camera_credentials_key": Fernet.generate_key().decode(),
        "audit_key": secrets.token_urlsafe(32),
        "metrics_token": secrets.token_urlsafe(32),
    }
    for name, value in values.items():
        (secret_dir / name).write_text(value + "\n")
    web, gateway = f"https://127.0.0.1:{ports['web_tls']}", f"https://localhost:{ports['gateway_tls']}"
    env: dict[str, str] = {}
    for line in (DEPLOY / "nattillsyn.env.example").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        env[key] = value.replace("/etc/nattillsyn/secrets", str(secret_dir))
    # The test's PostgreSQL trusts local connections: no password (an empty secret file is refused).
    env.pop("PGPASSWORD_FILE")
    env.update(
        PGUSER="postgres",
        PGDATABASE=database,
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS=web,
        NATTILLSYN_CONTROL_URL=f"http://127.0.0.1:{ports['web']}",
        NATTILLSYN_GATEWAY_URL=f"http://127.0.0.1:{ports['gateway']}",
        NATTILLSYN_GATEWAY_PUBLIC_URL=gateway,
        GATEWAY_ALLOWED_ORIGINS=web,
        AUDIT_HEAD_EXPORT_PATH=str(tmp / "audit-heads.jsonl"),
        SIMCAM_API_URL=f"http://127.0.0.1:{ports['simcam_api']}",
    )
    assert "PGPASSWORD" not in env
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("NATTILLSYN_", "DJANGO"))}, **env}


def render_nginx(tmp: Path, ports: dict[str, int]) -> Path:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tmp / "tls.key"), "-out", str(tmp / "tls.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (DEPLOY / "nginx" / "nattillsyn.conf.template").read_text()
    for name, value in {
        "WEB_HOST": "127.0.0.1",
        "GATEWAY_HOST": "localhost",
        "LISTEN": f"127.0.0.1:{ports['web_tls']}",
        "TLS_CERT": str(tmp / "tls.crt"),
        "TLS_KEY": str(tmp / "tls.key"),
        "APP_DIR": str(ROOT),
        "WEB_UPSTREAM": f"127.0.0.1:{ports['web']}",
        "GATEWAY_UPSTREAM": f"127.0.0.1:{ports['gateway']}",
        "GATEWAY_STANDBY": f"127.0.0.1:{ports['gateway_standby']}",
    }.items():
        site = site.replace("${" + name + "}", value)
    # Both names on one machine: the gateway's server block on its own port.
    gateway_block = site.rindex("server {")
    site = site[:gateway_block] + site[gateway_block:].replace(
        f"127.0.0.1:{ports['web_tls']}", f"127.0.0.1:{ports['gateway_tls']}", 1
    )
    (tmp / "site.conf").write_text(site)
    main = tmp / "nginx.conf"
    main.write_text(
        textwrap.dedent(
            f"""
            worker_processes 1;
            pid {tmp}/nginx.pid;
            error_log {tmp}/nginx-error.log;
            events {{ worker_connections 256; }}
            http {{
                include /etc/nginx/mime.types;
                access_log {tmp}/nginx-access.log;
                client_body_temp_path {tmp}/body;
                proxy_temp_path {tmp}/proxy;
                fastcgi_temp_path {tmp}/fastcgi;
                uwsgi_temp_path {tmp}/uwsgi;
                scgi_temp_path {tmp}/scgi;
                include {tmp}/site.conf;
            }}
            """
        )
    )
    return main


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("deploy")
    names = ("web", "web_tls", "gateway", "gateway_standby", "gateway_tls", "simcam_rtsp", "simcam_api")
    ports = {name: free_port() for name in names}
    database = f"nattillsyn_deploy_{os.getpid()}"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    env = production_env(tmp, ports, database)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for line in (DEPLOY / "systemd" / "nattillsyn-migrate.service").read_text().splitlines():
            if line.startswith("ExecStart="):
                command = shlex.split(line.removeprefix("ExecStart=").replace("/opt/nattillsyn", str(ROOT)))
                subprocess.run(command, cwd=ROOT, env=env, check=True)
        seed = subprocess.run(
            [sys.executable, "-c", SEED.format(rtsp=f"rtsp://127.0.0.1:{ports['simcam_rtsp']}")],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "nattillsyn.settings"}, check=True, capture_output=True,
        )  # fmt: skip
        assert b"seeded" in seed.stdout, seed.stderr
        simcam = subprocess.Popen(
            ["/usr/bin/python3", "-m", "simcam", "--rtsp-port", str(ports["simcam_rtsp"]), "--api-port",
             str(ports["simcam_api"]), "--size", "640x360", "--fps", "10", "--keyint", "2",
             "--user", "demo", "--password", "demo", *CAMERAS],
            cwd=ROOT,
        )  # fmt: skip
        processes.append(simcam)
        wait_for_http(f"http://127.0.0.1:{ports['simcam_api']}/cameras", simcam)
        command, unit_env = unit_command("nattillsyn-web.service")
        command[command.index("--bind") + 1] = f"127.0.0.1:{ports['web']}"
        command[command.index("--workers") + 1] = "2"
        web = subprocess.Popen(command, cwd=ROOT, env={**env, **unit_env})
        processes.append(web)
        # Two workers, as a site runs them: they share the night's work on PostgreSQL (SKIP LOCKED).
        for instance in ("1", "2"):
            command, unit_env = unit_command("nattillsyn-worker@.service", instance)
            unit_env["NATTILLSYN_WORKER_METRICS_BIND"] = f"127.0.0.1:{free_port()}"
            processes.append(subprocess.Popen([*command, "--interval", "1"], cwd=ROOT, env={**env, **unit_env}))
        gateways = []
        for instance, port in (("0", ports["gateway"]), ("1", ports["gateway_standby"])):
            command, unit_env = unit_command("nattillsyn-gateway@.service", instance)
            unit_env["GATEWAY_BIND"] = f"127.0.0.1:{port}"
            gateway = subprocess.Popen(command, cwd=ROOT, env={**env, **unit_env})
            processes.append(gateway)
            gateways.append(gateway)
            wait_for_http(f"http://127.0.0.1:{port}/health", gateway)
        nginx = subprocess.Popen(["nginx", "-c", str(render_nginx(tmp, ports)), "-g", "daemon off;"])
        processes.append(nginx)
        wait_for_http(f"http://127.0.0.1:{ports['web']}/health", web)
        yield {
            "url": f"https://127.0.0.1:{ports['web_tls']}",
            "direct": f"http://127.0.0.1:{ports['web']}",
            "gateway_tls": f"https://localhost:{ports['gateway_tls']}",
            "metrics_token": (tmp / "secrets" / "metrics_token").read_text().strip(),
            "env": env,
            "gateways": gateways,
        }
    finally:
        for process in reversed(processes):
            stop(process)
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", database])


# Run in a child process with the production settings: a tenant, its users (the test
# password and authenticator key) and two persons whose checks are due now.
SEED = """
import django
django.setup()
from datetime import timedelta
from checks.engine import NightWorker
from nattillsyn import clock
from nattillsyn.testing import TEST_PERSONNUMMER, make_municipality, make_person
home = make_municipality("Driftby kommun", "driftby")
due = (clock.now() - timedelta(minutes=1)).astimezone(clock.STOCKHOLM).time().replace(second=0, microsecond=0)
make_person(home, "Astrid Andersson", personnummer=TEST_PERSONNUMMER[0], times=[due], camera_url="{rtsp}/cam1")
make_person(home, "Bertil Berg", personnummer=TEST_PERSONNUMMER[1], times=[due], camera_url="{rtsp}/cam2")
print("seeded")
"""


def log_in(browser: Any, production: dict[str, Any], username: str) -> Any:
    context = browser.new_context(locale="sv-SE", ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(production["url"] + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/mfa/**")
    page.fill("input[name=code]", pyotp.TOTP(TEST_TOTP_SECRET).now())
    page.click("[data-testid=verify-code]")
    page.wait_for_url(re.compile(r".*/(console|people|reports|cameras|audit)/.*"))
    return page


def test_a_smoke_night_through_the_proxy(browser: Any, production: dict[str, Any]) -> None:
    import urllib.request

    operator = log_in(browser, production, "driftby-operator")
    operator.goto(production["url"] + "/console/")
    operator.locator("[data-testid=check-row]", has_text="Astrid Andersson").locator("[data-testid=open-check]").click()
    operator.wait_for_url("**/console/attempts/*/")
    operator.wait_for_selector("#live[data-state=live]")  # WHEP through the proxy, media straight from the gateway
    operator.wait_for_selector("[data-testid=outcome-seen_ok]:not([disabled])")
    operator.keyboard.press("Enter")
    operator.wait_for_url("**/console/")
    assert "Kontrollen är klar" in operator.inner_text("[data-testid=message]")
    # The gateway dies (kill -9): the next view goes through the standby behind the proxy.
    killed_at = time.monotonic()
    production["gateways"][0].kill()
    # The empty room: no picture of a person; a technical fault escalates to the patrol.
    operator.locator("[data-testid=check-row]", has_text="Bertil Berg").locator("[data-testid=open-check]").click()
    operator.wait_for_url("**/console/attempts/*/")
    operator.wait_for_selector("#live[data-state=live]")
    print(f"\nfailover.next_view_first_frame_s: {time.monotonic() - killed_at:.2f}")
    operator.keyboard.press("f")
    operator.wait_for_url("**/console/")
    patrol = log_in(browser, production, "driftby-patrol")
    patrol.goto(production["url"] + "/console/patrol/")
    assert "Bertil Berg" in patrol.inner_text("main")
    # Production settings hold: HTTPS only cookies, HSTS, no demo secrets, the proxy's rules.
    response = operator.request.get(production["url"] + "/console/")
    assert "max-age=31536000" in response.headers["strict-transport-security"]
    assert operator.request.get(production["url"] + "/metrics").status == 404  # not through the public name
    scrape = urllib.request.Request(
        production["direct"] + "/metrics", headers={"Authorization": f"Bearer {production['metrics_token']}"}
    )
    with urllib.request.urlopen(scrape, timeout=10) as metrics:
        text = metrics.read().decode()
    assert 'nattillsyn_checks{state="done",tenant="driftby"} 1.0' in text
    assert 'nattillsyn_checks{state="escalated",tenant="driftby"} 1.0' in text
