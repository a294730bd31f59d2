"""ONVIF pan/tilt moves, measured against the simulated cameras' ONVIF service.

simcam's head takes ``--onvif-move-s`` (0.8 s, a typical consumer PTZ camera between a
bed and the ceiling) to travel; the figure here is that plus what the driver adds: the
GotoPreset request, polling the device's PTZ status every 0.1 s until the position is the
preset's within the tolerance, and the requests around it. This is the time the
worker's readying step must lead the operator's click by (Camera.preset_move_s).

    .venv/bin/python benchmarks/onvif_moves.py [--quick] [--move-s 0.8]

Ends with ``name: value`` lines. The count of ONVIF operations tested against the
independent implementation (ipycam) is printed by its test suite:
``.venv/bin/python -m pytest cameras/tests/test_onvif_ipycam.py`` → ``onvif.operations_tested``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nattillsyn.settings")
os.environ.setdefault("DB", "sqlite")

from benchmarks._common import headline, machine_load, percentile, say  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--move-s", type=float, default=0.8)
    args = parser.parse_args()
    cycles = 5 if args.quick else 25

    import django

    django.setup()

    from cameras import onvif
    from gateway.tests.camera_process import simulated_cameras

    privacy_moves: list[float] = []
    view_moves: list[float] = []
    status_requests: list[float] = []
    with simulated_cameras("cam1:asleep", "--onvif", "cam1", "--onvif-move-s", str(args.move_s)) as cameras:
        with urllib.request.urlopen(f"http://127.0.0.1:{cameras.api_port}/cameras/cam1", timeout=5) as response:
            port = json.loads(response.read())["onvif_port"]
        credentials = onvif.Credentials("127.0.0.1", port, "demo", "demo")
        onvif.move_to_preset(credentials, "main", "privacy", timeout_s=10)  # connected, at rest
        say(f"{cycles} view/privacy cycles, head travel {args.move_s} s, {machine_load()}")
        for _ in range(cycles):
            view_moves.append(onvif.move_to_preset(credentials, "main", "view", timeout_s=10).seconds)
            privacy_moves.append(onvif.move_to_preset(credentials, "main", "privacy", timeout_s=10).seconds)
            started = time.perf_counter()
            assert onvif.at_preset(credentials, "main", "privacy", timeout_s=5)
            status_requests.append(time.perf_counter() - started)
        onvif.forget_connections()
    headline("onvif.head_travel_s", args.move_s)
    headline("onvif.privacy_move_s_p50", round(percentile(privacy_moves, 0.5), 3))
    headline("onvif.privacy_move_s_p95", round(percentile(privacy_moves, 0.95), 3))
    headline("onvif.view_move_s_p95", round(percentile(view_moves, 0.95), 3))
    headline("onvif.verify_privacy_s_p95", round(percentile(status_requests, 0.95), 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
