"""A minimal ONVIF service for a simulated camera: device, media and PTZ with two
presets, enough for the control plane's ONVIF driver (cameras/onvif.py) end to end.

One HTTP port per camera, as a real camera has (an ONVIF client finds the device service
at http://host:port/onvif/device_service). WS-Security UsernameToken digests are checked
with the RTSP credentials. The pan/tilt head moves at a fixed speed; GetStatus reports the
position on the way and MOVING until it arrives. The picture follows the head: the privacy
(ceiling) picture from the moment the head leaves the view preset, the bed only once it
is back there.

Standard library only: it runs in Debian's python3 beside GStreamer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from .camera import SimulatedCamera

# Generic pan/tilt space (-1..1): facing the bed, and facing the ceiling.
PRESETS = {"view": ("Säng", 0.0, -0.5), "privacy": ("Tak", 0.0, 0.9)}
MAX_BODY_BYTES = 64 * 1024
NAMESPACES = (
    'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    'xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:ter="http://www.onvif.org/ver10/error"'
)
GENERIC_SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"


class PanTiltHead:
    """Where the simulated camera points, moving at ``move_s`` seconds per full travel
    between the two presets (the time a real head takes, 0.5–3 s)."""

    def __init__(self, camera: SimulatedCamera, move_s: float) -> None:
        self._camera = camera
        self._lock = threading.Lock()
        self._speed = abs(PRESETS["privacy"][2] - PRESETS["view"][2]) / max(move_s, 0.001)
        self._presets = {token: (pan, tilt) for token, (_name, pan, tilt) in PRESETS.items()}
        self._names = {token: name for token, (name, _pan, _tilt) in PRESETS.items()}
        start = self._presets["privacy" if camera.privacy else "view"]
        self._from = self._to = start
        self._started = self._arrives = time.monotonic()
        self._arrival: threading.Timer | None = None

    def position(self) -> tuple[float, float, bool]:
        with self._lock:
            return self._position_locked(time.monotonic())

    def _position_locked(self, now: float) -> tuple[float, float, bool]:
        if now >= self._arrives:
            return self._to[0], self._to[1], False
        share = (now - self._started) / (self._arrives - self._started)
        pan = self._from[0] + (self._to[0] - self._from[0]) * share
        tilt = self._from[1] + (self._to[1] - self._from[1]) * share
        return pan, tilt, True

    def presets(self) -> list[tuple[str, str, float, float]]:
        with self._lock:
            return [(token, self._names[token], pan, tilt) for token, (pan, tilt) in self._presets.items()]

    def set_preset(self, name: str, token: str | None) -> str:
        with self._lock:
            pan, tilt, _moving = self._position_locked(time.monotonic())
            token = token or f"preset{len(self._presets) + 1}"
            self._presets[token] = (pan, tilt)
            self._names[token] = name
            return token

    def goto_preset(self, token: str) -> bool:
        with self._lock:
            target = self._presets.get(token)
        if target is None:
            return False
        self.move_to(target)
        return True

    def move_to(self, target: tuple[float, float], *, at_once: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            pan, tilt, _moving = self._position_locked(now)
            distance = max(abs(target[0] - pan), abs(target[1] - tilt))
            self._from, self._to = (pan, tilt), target
            self._started, self._arrives = now, now + (0 if at_once else distance / self._speed)
            if self._arrival is not None:
                self._arrival.cancel()
                self._arrival = None
            if at_once:
                self._camera.set_privacy(not self._at_view(target))
                return
            # The bed is shown only at the view preset, from the moment the head gets there.
            self._camera.set_privacy(True)
            self._arrival = threading.Timer(self._arrives - now, self._arrived, args=(target,))
            self._arrival.daemon = True
            self._arrival.start()

    def _at_view(self, target: tuple[float, float]) -> bool:
        view = self._presets["view"]
        return abs(target[0] - view[0]) < 0.01 and abs(target[1] - view[1]) < 0.01

    def _arrived(self, target: tuple[float, float]) -> None:
        with self._lock:
            if self._to != target:
                return  # another move took over
            self._camera.set_privacy(not self._at_view(target))

    def follow_privacy(self, privacy: bool) -> None:
        """The control API's privacy switch: the head is there at once."""
        with self._lock:
            target = self._presets["privacy" if privacy else "view"]
        self.move_to(target, at_once=True)


def password_digest(nonce_b64: str, created: str, password: str) -> str:
    """WS-Security: Base64(SHA1(nonce + created + password))."""
    digest = hashlib.sha1(base64.b64decode(nonce_b64) + created.encode() + password.encode()).digest()
    return base64.b64encode(digest).decode()


def _text(body: str, tag: str) -> str | None:
    match = re.search(rf"<(?:[\w-]+:)?{tag}\b[^>]*>([^<]*)</(?:[\w-]+:)?{tag}>", body)
    return match.group(1).strip() if match else None


def _attribute(body: str, tag: str, attribute: str) -> str | None:
    match = re.search(rf"<(?:[\w-]+:)?{tag}\b[^>]*\b{attribute}=\"([^\"]*)\"", body)
    return match.group(1) if match else None


def authorised(body: str, credentials: tuple[str, str] | None) -> bool:
    if credentials is None:
        return True
    user, password = credentials
    username, sent, nonce, created = (_text(body, tag) for tag in ("Username", "Password", "Nonce", "Created"))
    if username is None or sent is None or nonce is None or created is None:
        return False
    try:
        expected = password_digest(nonce, created, password)
    except ValueError:
        return False
    return hmac.compare_digest(username, user) and hmac.compare_digest(sent, expected)


class OnvifService:
    """The SOAP answers for one camera."""

    def __init__(
        self, camera: SimulatedCamera, head: PanTiltHead, credentials: tuple[str, str] | None, rtsp_url: str, model: str
    ) -> None:
        self.camera, self.head, self.credentials = camera, head, credentials
        self.rtsp_url, self.model = rtsp_url, model
        self.base_url = ""  # http://host:port, known once the server is bound

    def answer(self, body: str) -> tuple[int, str]:
        operation = self._operation(body)
        if operation is None:
            return 400, self._fault("s:Sender", "ter:InvalidArgVal", "no operation in the body")
        if operation != "GetSystemDateAndTime" and not authorised(body, self.credentials):
            # ONVIF Core 5.12: a refused UsernameToken is a sender fault, NotAuthorized.
            return 400, self._fault("s:Sender", "ter:NotAuthorized", "Sender not authorized")
        handler = getattr(self, f"_{operation}", None)
        if handler is None:
            return 400, self._fault("s:Receiver", "ter:ActionNotSupported", f"{operation} not supported")
        return 200, self._envelope(handler(body))

    @staticmethod
    def _operation(body: str) -> str | None:
        match = re.search(r"<(?:[\w-]+:)?Body\b[^>]*>\s*<(?:[\w-]+:)?(\w+)", body)
        return match.group(1) if match else None

    def _envelope(self, content: str) -> str:
        return f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {NAMESPACES}><s:Body>{content}</s:Body></s:Envelope>'

    def _fault(self, code: str, subcode: str, reason: str) -> str:
        return self._envelope(
            f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>"
            f'<s:Reason><s:Text xml:lang="en">{escape(reason)}</s:Text></s:Reason></s:Fault>'
        )

    # --- device ---

    def _GetSystemDateAndTime(self, _body: str) -> str:
        now = datetime.now(UTC)
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType>"
            "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
            f"<tt:UTCDateTime><tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
            f"<tt:Second>{now.second}</tt:Second></tt:Time><tt:Date><tt:Year>{now.year}</tt:Year>"
            f"<tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date></tt:UTCDateTime>"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def _GetServices(self, _body: str) -> str:
        services = [
            ("http://www.onvif.org/ver10/device/wsdl", "device_service"),
            ("http://www.onvif.org/ver10/media/wsdl", "media_service"),
            ("http://www.onvif.org/ver20/ptz/wsdl", "ptz_service"),
        ]
        items = "".join(
            f"<tds:Service><tds:Namespace>{namespace}</tds:Namespace>"
            f"<tds:XAddr>{self.base_url}/onvif/{path}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
            for namespace, path in services
        )
        return f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>"

    def _GetDeviceInformation(self, _body: str) -> str:
        return (
            "<tds:GetDeviceInformationResponse><tds:Manufacturer>Nattillsyn</tds:Manufacturer>"
            f"<tds:Model>{escape(self.model)}</tds:Model><tds:FirmwareVersion>simcam</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{escape(self.camera.name)}</tds:SerialNumber><tds:HardwareId>sim</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )

    # --- media: one profile, the camera's one stream ---

    def _GetProfiles(self, _body: str) -> str:
        width, height = self.camera.format.width, self.camera.format.height
        return (
            '<trt:GetProfilesResponse><trt:Profiles token="main" fixed="true"><tt:Name>main</tt:Name>'
            '<tt:VideoEncoderConfiguration token="h264"><tt:Name>h264</tt:Name><tt:UseCount>1</tt:UseCount>'
            f"<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>{width}</tt:Width>"
            f"<tt:Height>{height}</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality>"
            "</tt:VideoEncoderConfiguration>"
            '<tt:PTZConfiguration token="ptz"><tt:Name>ptz</tt:Name><tt:UseCount>1</tt:UseCount>'
            "<tt:NodeToken>head</tt:NodeToken></tt:PTZConfiguration>"
            "</trt:Profiles></trt:GetProfilesResponse>"
        )

    def _GetStreamUri(self, _body: str) -> str:
        return (
            f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{escape(self.rtsp_url)}</tt:Uri>"
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
            "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>"
        )

    # --- PTZ ---

    def _GetPresets(self, _body: str) -> str:
        items = "".join(
            f'<tptz:Preset token="{escape(token)}"><tt:Name>{escape(name)}</tt:Name><tt:PTZPosition>'
            f'<tt:PanTilt x="{pan}" y="{tilt}" space="{GENERIC_SPACE}"/></tt:PTZPosition></tptz:Preset>'
            for token, name, pan, tilt in self.head.presets()
        )
        return f"<tptz:GetPresetsResponse>{items}</tptz:GetPresetsResponse>"

    def _GotoPreset(self, body: str) -> str:
        token = _text(body, "PresetToken") or ""
        if not self.head.goto_preset(token):
            raise SoapFault("ter:InvalidArgVal", f"no preset {token}")
        return "<tptz:GotoPresetResponse/>"

    def _SetPreset(self, body: str) -> str:
        token = self.head.set_preset(_text(body, "PresetName") or "preset", _text(body, "PresetToken"))
        return f"<tptz:SetPresetResponse><tptz:PresetToken>{escape(token)}</tptz:PresetToken></tptz:SetPresetResponse>"

    def _AbsoluteMove(self, body: str) -> str:
        pan, tilt = _attribute(body, "PanTilt", "x"), _attribute(body, "PanTilt", "y")
        try:
            target = (max(-1.0, min(1.0, float(pan or ""))), max(-1.0, min(1.0, float(tilt or ""))))
        except ValueError:
            raise SoapFault("ter:InvalidArgVal", "PanTilt x and y are needed") from None
        self.head.move_to(target)
        return "<tptz:AbsoluteMoveResponse/>"

    def _GetStatus(self, _body: str) -> str:
        pan, tilt, moving = self.head.position()
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            "<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>"
            f'<tt:PanTilt x="{pan:.4f}" y="{tilt:.4f}" space="{GENERIC_SPACE}"/></tt:Position>'
            f"<tt:MoveStatus><tt:PanTilt>{'MOVING' if moving else 'IDLE'}</tt:PanTilt></tt:MoveStatus>"
            f"<tt:UtcTime>{now}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>"
        )


class SoapFault(Exception):
    def __init__(self, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.subcode = subcode


class OnvifServer:
    """One camera's ONVIF port."""

    def __init__(self, bind: str, port: int, service: OnvifService) -> None:
        self.service = service
        self._server = ThreadingHTTPServer((bind, port), self._handler_class())
        self._server.daemon_threads = True
        service.base_url = f"http://{bind}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="simcam-onvif", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        service = self.service

        class Handler(BaseHTTPRequestHandler):
            server_version = "simcam-onvif"

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY_BYTES:
                    self._send(413, "")
                    return
                body = self.rfile.read(length).decode("utf-8", "replace")
                if not service.camera.router_up:
                    self._send(503, "")  # no power at the camera's router: nothing answers
                    return
                try:
                    status, answer = service.answer(body)
                except SoapFault as fault:
                    status, answer = 400, service._fault("s:Sender", fault.subcode, str(fault))
                self._send(status, answer)

            def _send(self, status: int, answer: str) -> None:
                payload = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
