"""Wires cameras, encoders, the RTSP server and the control API together and runs them."""

from __future__ import annotations

import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

from .api import ControlApi  # noqa: E402
from .camera import SimulatedCamera  # noqa: E402
from .cli import Settings  # noqa: E402
from .encoder import LiveEncoder  # noqa: E402
from .onvif import OnvifServer, OnvifService, PanTiltHead  # noqa: E402
from .rtsp import RtspFrontend  # noqa: E402
from .scenes import SceneLibrary  # noqa: E402

ENCODER_START_TIMEOUT_S = 10.0
# After a longer stall (suspended machine, debugger) start counting afresh
# instead of pushing a burst of catch-up frames.
MAX_LAG_S = 1.0


class FrameClock:
    """Feeds every camera's encoder one raw frame per frame interval, viewers or not."""

    def __init__(self, fps: int, cameras: list[tuple[SimulatedCamera, LiveEncoder]]) -> None:
        self._interval_s = 1.0 / fps
        self._cameras = cameras
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simcam-frames", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        started = time.monotonic()
        tick = 0
        while not self._stopping.is_set():
            for camera, encoder in self._cameras:
                encoder.push_raw_frame(camera.next_frame())
            tick += 1
            due = started + tick * self._interval_s
            lag = time.monotonic() - due
            if lag > MAX_LAG_S:
                started, tick = time.monotonic(), 0
            elif lag < 0:
                self._stopping.wait(-lag)


def serve(settings: Settings) -> int:
    Gst.init(None)
    stream_format = settings.stream_format
    scenes = SceneLibrary(stream_format.width, stream_format.height)
    cameras = {name: SimulatedCamera(name, scenario, stream_format, scenes) for name, scenario in settings.cameras}
    if settings.start_in_privacy:
        for camera in cameras.values():
            camera.set_privacy(True)
    units = {name: (camera, LiveEncoder(name, stream_format)) for name, camera in cameras.items()}
    # Each camera also serves a sub stream at /NAME/sub (half size), as IP cameras do for weak links.
    mounts = dict(units)
    for name, (camera, encoder) in units.items():
        sub = LiveEncoder(f"{name}/sub", stream_format, stream_format.sub_stream())
        encoder.companions.append(sub)
        mounts[f"{name}/sub"] = (camera, sub)
    for _camera, encoder in mounts.values():
        encoder.start()
    frame_clock = FrameClock(stream_format.fps, list(units.values()))
    frame_clock.start()
    api: ControlApi | None = None
    onvif_servers: dict[str, OnvifServer] = {}
    try:
        for name, (_camera, encoder) in mounts.items():
            if not encoder.wait_until_encoding(ENCODER_START_TIMEOUT_S):
                print(f"simcam: encoder of {name} produced nothing", file=sys.stderr, flush=True)
                return 1
        rtsp = RtspFrontend(settings.bind, settings.rtsp_port, settings.credentials, mounts)
        rtsp_port = rtsp.start()
        for name, port in settings.onvif:
            head = PanTiltHead(cameras[name], settings.onvif_move_s)
            rtsp_url = f"rtsp://{settings.bind}:{rtsp_port}/{name}"
            service = OnvifService(cameras[name], head, settings.credentials, rtsp_url, "Simulerad PTZ-kamera")
            onvif_servers[name] = OnvifServer(settings.bind, port, service)
            onvif_servers[name].start()
        api = ControlApi(
            settings.bind,
            settings.api_port,
            cameras,
            on_unreachable=rtsp.cut_viewers,
            onvif={name: (server.port, server.service.head) for name, server in onvif_servers.items()},
        )
        api.start()

        loop = GLib.MainLoop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal_number, _quit, loop)
        onvif = ",".join(f"{name}:{server.port}" for name, server in onvif_servers.items())
        print(
            f"simcam ready rtsp={rtsp_port} api={api.port} cameras={len(cameras)}"
            + (f" onvif={onvif}" if onvif else ""),
            flush=True,
        )
        loop.run()
        return 0
    finally:
        if api is not None:
            api.stop()
        for server in onvif_servers.values():
            server.stop()
        frame_clock.stop()
        for _camera, encoder in mounts.values():
            encoder.stop()


def _quit(loop: GLib.MainLoop) -> bool:
    loop.quit()
    return GLib.SOURCE_REMOVE
