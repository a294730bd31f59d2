"""The demo's identity provider: sso/testidp/idp.mjs with demo staff, so that single
sign-on can be tried in `make run` ("Logga in med Demo-IdP" on the login page).

Demo only: refuses to run with NATTILLSYN_DEMO off. If Node.js or the provider cannot
run here, it says so and waits, so that `make run` keeps the rest of the system up
(honcho stops every process when one exits); the password login works as ever.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_PASSWORD
from sso.demo_idp import DEMO_IDP_SECRET, DEMO_IDP_SLUG, IDP_DIR, demo_accounts, demo_idp_port, idp_config


class Command(BaseCommand):
    help = "Run the demo's OpenID Connect provider (Node.js) for trying single sign-on."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("the demo identity provider runs only with NATTILLSYN_DEMO on")
        node = shutil.which("node")
        if node is None or not (IDP_DIR / "node_modules" / "oidc-provider").exists():
            self.wait_without("Node.js and the provider's npm packages are needed: run `make deps`")
            return
        port = demo_idp_port()
        callbacks = [f"http://{host}:8000/sso/{DEMO_IDP_SLUG}/callback" for host in ("127.0.0.1", "localhost")]
        config_path = settings.BASE_DIR / "var" / "demo-idp.json"
        config_path.parent.mkdir(exist_ok=True)
        config_path.write_text(
            json.dumps(idp_config(port, DEMO_IDP_SECRET, callbacks, demo_accounts(DEMO_PASSWORD))), encoding="utf-8"
        )
        provider = subprocess.Popen([node, str(IDP_DIR / "idp.mjs"), str(config_path)], cwd=IDP_DIR)

        def stop(_signal: int, _frame: Any) -> None:
            provider.terminate()
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if provider.wait() != 0:
            self.wait_without(f"the identity provider stopped (exit code {provider.returncode})")

    def wait_without(self, reason: str) -> None:
        self.stderr.write(f"Demo single sign-on is not available: {reason}. Everything else runs.")
        signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(0))
        while True:
            signal.pause()
