"""Command line: ``python3 -m simcam [options] name:scenario ...``."""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass

from .camera import SCENARIOS, StreamFormat

DEFAULT_CAMERAS = ("cam1:asleep", "cam2:empty", "cam3:floor")
CAMERA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Settings:
    rtsp_port: int
    api_port: int
    bind: str
    stream_format: StreamFormat
    credentials: tuple[str, str] | None
    cameras: tuple[tuple[str, str], ...]  # (name, scenario) in the order given
    # Start every camera in its privacy position, as a real one rests between checks.
    start_in_privacy: bool = False
    # Cameras with an ONVIF service (device, media, PTZ): name → port (0: a free one).
    onvif: tuple[tuple[str, int], ...] = ()
    onvif_move_s: float = 0.8


def _bounded_int(text: str, low: int, high: int, meaning: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: {meaning} must be a whole number {low}..{high}")
    return value


def _port(text: str) -> int:
    return _bounded_int(text, 0, 65535, "port (0 picks a free one)")


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if match is None:
        raise argparse.ArgumentTypeError("size must be WIDTHxHEIGHT, e.g. 640x360")
    width, height = int(match[1]), int(match[2])
    # I420 with GStreamer's default strides is only tightly packed for these.
    if width < 64 or height < 64 or width % 8 or height % 2:
        raise argparse.ArgumentTypeError("width must be a multiple of 8 and height even, both at least 64")
    return width, height


def _fps(text: str) -> int:
    return _bounded_int(text, 1, 60, "frames per second")


def _keyint(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError("keyframe interval must be more than 0 and at most 60 seconds")
    return value


def _camera(text: str) -> tuple[str, str]:
    name, _, scenario = text.partition(":")
    if not CAMERA_NAME.match(name):
        raise argparse.ArgumentTypeError(f"camera name {name!r} must be letters, digits, '-' or '_'")
    if scenario not in SCENARIOS:
        raise argparse.ArgumentTypeError(f"{text!r}: scenario must be one of {', '.join(SCENARIOS)}")
    return name, scenario


def _onvif(text: str) -> tuple[str, int]:
    name, _, port = text.partition("=")
    if not CAMERA_NAME.match(name):
        raise argparse.ArgumentTypeError(f"camera name {name!r} must be letters, digits, '-' or '_'")
    return name, _port(port or "0")


def _move_s(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 30:
        raise argparse.ArgumentTypeError("a preset move takes 0..30 seconds")
    return value


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python3 -m simcam",
        description="Simulated night-vision bedroom cameras over RTSP, with a control API.",
    )
    # String defaults go through `type` too, so a bad environment value is reported like a bad option.
    parser.add_argument("--rtsp-port", type=_port, default=os.environ.get("SIMCAM_RTSP_PORT", "8554"))
    parser.add_argument("--api-port", type=_port, default=os.environ.get("SIMCAM_API_PORT", "8555"))
    parser.add_argument("--bind", default="127.0.0.1", help="address for both RTSP and the API")
    parser.add_argument("--size", type=_size, default=(640, 360), help="WIDTHxHEIGHT")
    parser.add_argument("--fps", type=_fps, default=10)
    parser.add_argument("--keyint", type=_keyint, default=2.0, help="seconds between keyframes")
    parser.add_argument("--user", default="demo", help="RTSP user; '' turns authentication off")
    parser.add_argument("--password", default="demo")
    parser.add_argument("--privacy", action="store_true", help="start every camera in the privacy position")
    parser.add_argument(
        "--onvif",
        type=_onvif,
        action="append",
        default=[],
        metavar="NAME[=PORT]",
        help="give this camera an ONVIF service (device, media, PTZ with a view and a privacy preset)",
    )
    parser.add_argument("--onvif-move-s", type=_move_s, default=0.8, help="seconds a move between the presets takes")
    parser.add_argument(
        "cameras",
        nargs="*",
        type=_camera,
        metavar="name:scenario",
        help=f"scenario is one of {', '.join(SCENARIOS)} (default: {' '.join(DEFAULT_CAMERAS)})",
    )
    args = parser.parse_args(argv)
    cameras = tuple(args.cameras) or tuple(_camera(text) for text in DEFAULT_CAMERAS)
    names = [name for name, _ in cameras]
    if len(set(names)) != len(names):
        parser.error("camera names must be unique")
    for name, _port_number in args.onvif:
        if name not in names:
            parser.error(f"--onvif {name}: no such camera")
    width, height = args.size
    return Settings(
        rtsp_port=args.rtsp_port,
        api_port=args.api_port,
        bind=args.bind,
        stream_format=StreamFormat(width=width, height=height, fps=args.fps, keyint_s=args.keyint),
        credentials=(args.user, args.password) if args.user else None,
        cameras=cameras,
        start_in_privacy=args.privacy,
        onvif=tuple(args.onvif),
        onvif_move_s=args.onvif_move_s,
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    # Imported late so that --help and argument errors work without GStreamer.
    from .server import serve

    try:
        return serve(settings)
    except OSError as error:
        print(f"simcam: {error}", file=sys.stderr, flush=True)
        return 1
