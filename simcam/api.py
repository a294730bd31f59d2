"""Control API (HTTP/JSON) for the demo and the tests; see docs/GATEWAY_PROTOCOL.md."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .camera import SCENARIOS, SimulatedCamera
from .onvif import PanTiltHead

MAX_BODY_BYTES = 64 * 1024
CAMERA_PATH = re.compile(r"^/cameras/(?P<name>[^/]+)(?:/(?P<action>[a-z_]+))?/?$")


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class ControlApi:
    def __init__(
        self,
        bind: str,
        port: int,
        cameras: dict[str, SimulatedCamera],
        on_unreachable: Callable[[str], None],
        onvif: dict[str, tuple[int, PanTiltHead]] | None = None,
    ) -> None:
        self._cameras = cameras
        # Cameras with an ONVIF service: its port (shown in the camera's description) and
        # its pan/tilt head, which follows the privacy switch here.
        self._onvif = onvif or {}
        self._on_unreachable = on_unreachable
        self._server = ThreadingHTTPServer((bind, port), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval only makes shutdown quicker; requests are served at once anyway.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="simcam-api", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- request handling, independent of HTTP plumbing -------------------------

    def handle(self, method: str, path: str, body: bytes) -> tuple[HTTPStatus, object]:
        path = path.split("?", 1)[0]
        if path.rstrip("/") == "/cameras":
            if method != "GET":
                raise ApiError(HTTPStatus.METHOD_NOT_ALLOWED, "use GET")
            return HTTPStatus.OK, [self._describe(camera) for camera in self._cameras.values()]
        match = CAMERA_PATH.match(path)
        if match is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "no such resource")
        camera = self._cameras.get(match["name"])
        if camera is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"unknown camera {match['name']!r}")
        action = match["action"]
        if action is None:
            self._require(method, "GET")
            return HTTPStatus.OK, self._describe(camera)
        if action == "heartbeat":
            self._require(method, "GET")
            if camera.router_up:
                return HTTPStatus.OK, {"router": "up"}
            return HTTPStatus.SERVICE_UNAVAILABLE, {"router": "down", "error": "no power at the camera's router"}
        if action == "scenario":
            self._require(method, "PUT")
            scenario = self._json_field(body, "scenario")
            if not isinstance(scenario, str) or scenario not in SCENARIOS:
                raise ApiError(HTTPStatus.BAD_REQUEST, f"scenario must be one of {', '.join(SCENARIOS)}")
            camera.set_scenario(scenario)
            if not camera.reachable:
                self._on_unreachable(camera.name)
            return HTTPStatus.OK, self._describe(camera)
        if action == "privacy":
            self._require(method, "PUT")
            privacy = self._json_field(body, "privacy")
            if not isinstance(privacy, bool):
                raise ApiError(HTTPStatus.BAD_REQUEST, "privacy must be true or false")
            if camera.name in self._onvif:
                self._onvif[camera.name][1].follow_privacy(privacy)
            else:
                camera.set_privacy(privacy)
            return HTTPStatus.OK, self._describe(camera)
        raise ApiError(HTTPStatus.NOT_FOUND, "no such resource")

    def _describe(self, camera: SimulatedCamera) -> dict[str, object]:
        description = camera.describe()
        if camera.name in self._onvif:
            description["onvif_port"] = self._onvif[camera.name][0]
        return description

    @staticmethod
    def _require(method: str, allowed: str) -> None:
        if method != allowed:
            raise ApiError(HTTPStatus.METHOD_NOT_ALLOWED, f"use {allowed}")

    @staticmethod
    def _json_field(body: bytes, field: str) -> object:
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(HTTPStatus.BAD_REQUEST, "body must be JSON") from None
        if not isinstance(document, dict) or field not in document:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"body must be a JSON object with {field!r}")
        return document[field]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "simcam"

            def do_GET(self) -> None:
                self._dispatch()

            def do_PUT(self) -> None:
                self._dispatch()

            def do_POST(self) -> None:
                self._dispatch()

            def do_DELETE(self) -> None:
                self._dispatch()

            def _dispatch(self) -> None:
                try:
                    status, document = api.handle(self.command, self.path, self._read_body())
                except ApiError as error:
                    status, document = error.status, {"error": str(error)}
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _read_body(self) -> bytes:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    raise ApiError(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
                if length < 0 or length > MAX_BODY_BYTES:
                    raise ApiError(HTTPStatus.BAD_REQUEST, "body too large")
                return self.rfile.read(length)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the demo polls heartbeats; a line per request would drown real errors

        return Handler
