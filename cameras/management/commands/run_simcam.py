"""Start the simulated cameras for every simulated camera in the database.

Runs Debian's python3 (PyGObject and GStreamer come from Debian) and replaces this
process with it, so a process manager's signals reach the simulator directly.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from cameras.models import Camera, CameraDriverKind
from cameras.onvif import parse_address
from nattillsyn.env import env_int, env_str

SYSTEM_PYTHON = "/usr/bin/python3"


def onvif_address_port(address: str) -> int:
    return parse_address(address)[1]


class Command(BaseCommand):
    help = "Run the simulated RTSP cameras (simcam) for the simulated cameras in the database."

    def handle(self, *args: Any, **options: Any) -> None:
        # Simulated cameras, and ONVIF cameras with a simulated scenario (simcam answers ONVIF for them).
        cameras = Camera.objects.filter(
            Q(driver=CameraDriverKind.SIMULATED) | Q(driver=CameraDriverKind.ONVIF_PTZ, simulated_scenario__gt="")
        ).order_by("id")
        specs = sorted(
            {f"{urlsplit(c.stream_url).path.strip('/')}:{c.simulated_scenario or 'asleep'}" for c in cameras}
        )
        onvif = sorted(
            {
                f"--onvif={urlsplit(c.stream_url).path.strip('/')}={onvif_address_port(c.onvif_address)}"
                for c in cameras
                if c.driver == CameraDriverKind.ONVIF_PTZ
            }
        )
        if not specs:
            raise CommandError("no simulated cameras in the database: run `manage.py seed_demo` first")
        argv = [
            SYSTEM_PYTHON,
            "-m",
            "simcam",
            "--rtsp-port",
            str(env_int("SIMCAM_RTSP_PORT", 8554)),
            "--api-port",
            str(env_int("SIMCAM_API_PORT", 8555)),
            "--size",
            env_str("SIMCAM_SIZE", "1280x720"),
            "--fps",
            str(env_int("SIMCAM_FPS", 10)),
            "--user",
            "demo",
            "--password",
            "demo",
            *onvif,
            *specs,
        ]
        self.stdout.write(f"starting {len(specs)} simulated cameras")
        self.stdout.flush()
        os.execv(SYSTEM_PYTHON, argv)
