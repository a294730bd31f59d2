"""An ONVIF camera written elsewhere: ipycam's ONVIF service, PTZ controller and HTTP
handler (from PyPI), served on a port of our choosing, for the ONVIF driver's tests.

Only ipycam's ONVIF side runs (no RTSP: ipycam's needs go2rtc, and no WS-Discovery,
which would take the fixed port 3702). Run from a scratch directory: ipycam keeps its
presets in ./ptz_presets.json.

    python -m cameras.tests.ipycam_device --port 0 --user admin --password secret [--mode M]

Modes make the device misbehave the way real ones do:
    normal    as ipycam is
    no_ptz    no PTZ service (a fixed camera): left out of GetServices and GetCapabilities
    stuck     accepts GotoPreset but never moves (a jammed motor)
    slow      every answer after the first few takes 3 s (a congested 4G link)
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from http.server import ThreadingHTTPServer
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--mode", choices=["normal", "no_ptz", "stuck", "slow"], default="normal")
    parser.add_argument("--rtsp-port", type=int, default=8554)
    parser.add_argument("--discovery-port", type=int, default=0, help="answer WS-Discovery probes on this UDP port")
    args = parser.parse_args()

    from ipycam.config import CameraConfig
    from ipycam.http import IPCameraHTTPHandler
    from ipycam.onvif import ONVIFService
    from ipycam.ptz import PTZController

    config = CameraConfig(local_ip="127.0.0.1", onvif_port=args.port, rtsp_port=args.rtsp_port)
    if args.user:
        config.set_credentials(args.user, args.password)
    ptz = PTZController(enable_digital_ptz=False)
    onvif = ONVIFService(config, ptz)
    # ipycam 1.3.0's PTZ answers use the prefixes ptz: and tptz:, which its envelope never
    # declares, so no XML parser (zeep's lxml included) can read them. Declared here;
    # everything else is ipycam's own.
    onvif._templates["envelope"] = onvif._templates["envelope"].replace(
        'xmlns:trt="http://www.onvif.org/ver10/media/wsdl"',
        'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:ptz="http://www.onvif.org/ver20/ptz/wsdl"'
        ' xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"',
    )
    handle_action = onvif.handle_action
    answered = {"count": 0}

    def misbehaving(action: str, body: str) -> Any:
        answered["count"] += 1
        if args.mode == "slow" and answered["count"] > 3:
            time.sleep(3)
        if args.mode == "stuck" and "GotoPreset" in action:
            return onvif._wrap_envelope(onvif._render("ptz_goto_preset"))
        response = handle_action(action, body)
        if args.mode == "no_ptz" and response:
            response = re.sub(
                r"<tds:Service>\s*<tds:Namespace>[^<]*ptz[^<]*</tds:Namespace>.*?</tds:Service>",
                "",
                response,
                flags=re.S,
            )
            response = re.sub(r"<tt:PTZ>.*?</tt:PTZ>", "", response, flags=re.S)
        return response

    onvif.handle_action = misbehaving  # type: ignore[method-assign]

    class Camera:  # what ipycam's HTTP handler reads from its camera
        pass

    camera = Camera()
    camera.onvif = onvif  # type: ignore[attr-defined]
    camera.config = config  # type: ignore[attr-defined]
    camera.ptz = ptz  # type: ignore[attr-defined]
    IPCameraHTTPHandler.camera = camera  # type: ignore[assignment]

    server = ThreadingHTTPServer(("127.0.0.1", args.port), IPCameraHTTPHandler)
    server.daemon_threads = True
    # ipycam's answers name its own port; with port 0 it is known only now.
    config.onvif_port = server.server_address[1]
    if args.discovery_port:
        from ipycam.discovery import WSDiscoveryServer

        # ipycam's own responder, on a port of the test's choosing instead of 3702.
        responder = type("Responder", (WSDiscoveryServer,), {"MULTICAST_PORT": args.discovery_port})(onvif)
        responder.start()
    print(f"ipycam ready port={server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
