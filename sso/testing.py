"""A real OpenID Connect provider for the tests: sso/testidp/idp.mjs (panva/oidc-provider)
in its own Node.js process, and a way to log in at it as a user would."""

from __future__ import annotations

import html
import json
import re
import secrets
import select
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from sso.demo_idp import CLIENT_ID, IDP_DIR, idp_config
from sso.models import LOA3

LOA2 = "http://id.elegnamnden.se/loa/1.0/loa2"

# The users the provider knows: a municipality's staff (SITHS card: LoA3, two factors),
# someone who logged in with a password only, and an alarm centre's operator.
ACCOUNTS = {
    "anna": {
        "password": "anna-idp-pw",
        "claims": {"name": "Anna Andersson", "given_name": "Anna", "family_name": "Andersson",
                   "preferred_username": "anna", "roles": ["nattillsyn-operator"], "municipality": "0180"},
        "acr": LOA3,
        "amr": ["sc", "pin"],
    },
    "bertil": {
        "password": "bertil-idp-pw",
        "claims": {"name": "Bertil Berg", "roles": ["nattillsyn-operator", "nattillsyn-auditor"],
                   "municipality": "0180"},
        "acr": LOA3,
        "amr": ["sc", "pin"],
    },
    "cecilia": {
        "password": "cecilia-idp-pw",
        "claims": {"name": "Cecilia Ek", "roles": "nattillsyn-operator", "municipality": "0180"},
        "acr": LOA2,
        "amr": ["pwd"],
    },
    "david": {
        "password": "david-idp-pw",
        "claims": {"name": "David Dahl", "roles": ["ekonomi"], "municipality": "0180"},
        "acr": LOA3,
        "amr": ["sc", "pin"],
    },
    "larm": {
        "password": "larm-idp-pw",
        "claims": {"name": "Lars Larm", "roles": ["larmcentral-operator"], "municipality": ["1280"]},
        "amr": ["pwd", "otp", "mfa"],
    },
}  # fmt: skip


@dataclass
class RunningIdentityProvider:
    issuer: str
    client_id: str
    client_secret: str
    process: subprocess.Popen[str]
    last_form_seen: bool = False  # did the last log_in meet the provider's login form?

    def log_in(
        self,
        authorize_url: str,
        username: str,
        password: str,
        *,
        cancel: bool = False,
        browser: requests.Session | None = None,
    ) -> str:
        """Do what the user does at the provider: open its login page from the
        authorization URL, submit the form, and follow the provider's redirects until
        they leave it. Returns that address: the callback with code and state.
        ``browser`` keeps the provider's cookies (its own session) between logins."""
        browser = browser or requests.Session()
        url = authorize_url
        form_seen = False
        for _hop in range(10):
            response = browser.get(url, allow_redirects=False, timeout=10)
            if response.status_code == 200 and "<form" in response.text and not form_seen:
                form_seen = True
                action = response.text.split('action="', 1)[1].split('"', 1)[0]
                data = {"login": username, "password": password, "action": "abort" if cancel else "login"}
                response = browser.post(urljoin(url, action), data=data, allow_redirects=False, timeout=10)
                if response.status_code == 200:
                    raise PermissionError("the provider refused the password")
            if response.status_code == 200 and "<title>Submitting Callback</title>" in response.text:
                # The provider's self-submitting form (a browser runs its script), e.g.
                # to end the previous user's session there before this one goes on.
                action = html.unescape(response.text.split('action="', 1)[1].split('"', 1)[0])
                fields = {
                    html.unescape(name): html.unescape(value)
                    for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', response.text)
                }
                response = browser.post(urljoin(url, action), data=fields, allow_redirects=False, timeout=10)
            if response.status_code not in (302, 303):
                raise RuntimeError(f"unexpected answer from the provider: {response.status_code} {response.text[:200]}")
            url = urljoin(url, response.headers["Location"])
            if urlsplit(url).netloc != urlsplit(self.issuer).netloc:
                self.last_form_seen = form_seen
                return url
        raise RuntimeError("the provider kept redirecting")

    def log_out(self, end_session_url: str, browser: requests.Session) -> str:
        """Confirm "sign me out" on the provider's end-session page. Returns where the
        provider sends the browser afterwards (our post-logout address)."""
        page = browser.get(end_session_url, allow_redirects=False, timeout=10)
        if page.status_code in (302, 303):
            return str(page.headers["Location"])
        action = html.unescape(re.search(r'<form[^>]*action="([^"]*)"', page.text).group(1))  # type: ignore[union-attr]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page.text))
        response = browser.post(
            urljoin(end_session_url, action), data={**fields, "logout": "yes"}, allow_redirects=False, timeout=10
        )
        assert response.status_code in (302, 303), response.text[:300]
        return str(response.headers["Location"])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _said_ready(process: subprocess.Popen[str], *, timeout_s: float) -> bool:
    """Did the provider print its "ready" line within ``timeout_s``? Never blocks longer."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([process.stdout], [], [], left)[0]:
            return False
        line = process.stdout.readline()
        if line.startswith("ready"):
            return True
        if not line and process.poll() is not None:
            return False
    return False


@contextmanager
def running_identity_provider(
    redirect_uris: list[str], *, accounts: dict[str, Any] | None = None, secret: str | None = None
) -> Iterator[RunningIdentityProvider]:
    """Start the provider with a client for ``redirect_uris``; stop it afterwards."""
    if not (IDP_DIR / "node_modules" / "oidc-provider").exists():
        raise RuntimeError("run `make deps` first: the test identity provider's npm packages are missing")
    secret = secret or secrets.token_urlsafe(32)
    # Node.js has been seen, rarely, to hang before listening; a start that says nothing
    # for 20 s is killed and tried once more on a new port, so a run never hangs on it.
    for attempt in range(2):
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(idp_config(port, secret, redirect_uris, accounts or ACCOUNTS), file)
        process = subprocess.Popen(
            ["node", str(IDP_DIR / "idp.mjs"), file.name],
            cwd=IDP_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if _said_ready(process, timeout_s=20):
            break
        process.kill()
        process.wait(timeout=10)
        Path(file.name).unlink(missing_ok=True)
        if attempt == 1:
            raise RuntimeError("the test identity provider did not start")
    try:
        yield RunningIdentityProvider(issuer, CLIENT_ID, secret, process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        Path(file.name).unlink(missing_ok=True)
