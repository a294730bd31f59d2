"""The configuration of the Node.js identity provider in sso/testidp (panva/oidc-provider):
for the demo (``manage.py run_demo_idp``, ``seed_demo``) and for the tests (``sso.testing``).
Production code, so that no command imports the test harness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nattillsyn.env import env_int
from sso.models import LOA3

IDP_DIR = Path(__file__).resolve().parent / "testidp"
CLIENT_ID = "nattillsyn"
DEMO_IDP_SLUG = "demo-idp"
DEMO_IDP_SECRET = "nattillsyn-demo-idp-secret"  # demo only, like the demo password
# Groups at the demo provider, and the role each gives in the demo municipality.
DEMO_IDP_GROUPS = {"nattpersonal": "operator", "nattpatrull": "patrol", "arbetsledare": "shift_lead"}


def demo_idp_port() -> int:
    return env_int("DEMO_IDP_PORT", 8556)


def demo_accounts(password: str) -> dict[str, Any]:
    """One demo user per group, logging in with a SITHS-like two-factor login (LoA3)."""
    return {
        f"sso-{group}": {
            "password": password,
            "claims": {"name": f"SSO {group.capitalize()}", "preferred_username": f"sso-{group}", "roles": [group]},
            "acr": LOA3,
            "amr": ["sc", "pin"],
        }
        for group in DEMO_IDP_GROUPS
    }


def idp_config(port: int, secret: str, redirect_uris: list[str], accounts: dict[str, Any]) -> dict[str, Any]:
    """The configuration sso/testidp/idp.mjs reads: one client (Nattillsyn) and its users."""
    return {
        "issuer": f"http://127.0.0.1:{port}",
        "port": port,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": secret,
                "redirect_uris": redirect_uris,
                # After logging out at the provider, back to our login page.
                "post_logout_redirect_uris": sorted({uri.split("/sso/", 1)[0] + "/login/" for uri in redirect_uris}),
            }
        ],
        "accounts": accounts,
    }
