"""Synthetic night-vision pictures of a bedroom seen from a camera above the bed.

Everything is rendered once at start-up into a small library of luma planes:
a few base pictures per view (breathing phases for views with a person) and a
short cycle of sensor-noise planes. A frame at run time is one saturating-free
uint8 addition of a base plane and a noise plane, so ten cameras cost almost
nothing beyond the encoders.

Night vision (IR illumination, no colour filter) means: grey only, a bright
hot spot in the middle where the IR LEDs point, dark corners, soft optics and
visible grain. Chroma is therefore constant (128) and only luma is stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Video-range luma: x264 and every decoder treat 16 as black and 235 as white.
BLACK = 16.0
WHITE = 235.0

# Noise is kept within +-NOISE_CLIP so that (base - BLACK) + (noise + NOISE_CLIP)
# never exceeds 255 and the per-frame addition needs no clipping.
NOISE_CLIP = 16
NOISE_SIGMA = 4.5
NOISE_FRAMES = 11  # prime, so the grain cycle does not line up with the breathing cycle

BREATH_LEVELS = 8
BREATH_PERIOD_S = 4.5

VIEWS_WITH_BREATHING = ("asleep", "floor")
VIEWS = ("asleep", "empty", "floor", "dark", "ceiling")


@dataclass(frozen=True)
class Canvas:
    """Pixel grid in scene units: v runs 0..1 top to bottom, u is centred on 0.

    Using the picture height as the unit keeps circles round and the layout
    the same at any size or aspect ratio.
    """

    u: np.ndarray
    v: np.ndarray

    @classmethod
    def of_size(cls, width: int, height: int) -> Canvas:
        v = (np.arange(height, dtype=np.float32) + 0.5) / height
        u = (np.arange(width, dtype=np.float32) + 0.5 - width / 2) / height
        return cls(u=u[np.newaxis, :], v=v[:, np.newaxis])

    def blank(self, value: float) -> np.ndarray:
        return np.full((self.v.shape[0], self.u.shape[1]), value, dtype=np.float32)


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _ellipse_distance(
    canvas: Canvas, centre: tuple[float, float], radii: tuple[float, float], angle_deg: float = 0.0
) -> np.ndarray:
    """1.0 on the ellipse outline, 0.0 at its centre."""
    du = canvas.u - centre[0]
    dv = canvas.v - centre[1]
    if angle_deg:
        a = math.radians(angle_deg)
        du, dv = du * math.cos(a) + dv * math.sin(a), -du * math.sin(a) + dv * math.cos(a)
    return np.sqrt((du / radii[0]) ** 2 + (dv / radii[1]) ** 2)


def _paint_dome(
    image: np.ndarray,
    canvas: Canvas,
    centre: tuple[float, float],
    radii: tuple[float, float],
    luma: float,
    angle_deg: float = 0.0,
    relief: float = 0.35,
) -> None:
    """A rounded body (head, pillow, body under a duvet) lit from the camera.

    Surfaces facing the IR illuminator reflect most, so the middle of a dome is
    brighter than its flanks; `relief` sets how strong that falloff is.
    """
    distance = _ellipse_distance(canvas, centre, radii, angle_deg)
    coverage = 1.0 - _smoothstep(0.85, 1.05, distance)
    height = np.sqrt(np.clip(1.0 - distance**2, 0.0, 1.0))
    shaded = luma * (1.0 - relief + relief * height)
    image *= 1.0 - coverage
    image += coverage * shaded


def _paint_bump(
    image: np.ndarray,
    canvas: Canvas,
    centre: tuple[float, float],
    radii: tuple[float, float],
    brighten: float,
    angle_deg: float = 0.0,
) -> None:
    """A soft raised area on a surface, e.g. a body under the duvet."""
    distance = _ellipse_distance(canvas, centre, radii, angle_deg)
    image += brighten * np.clip(1.0 - distance**2, 0.0, 1.0) ** 1.5


def _rounded_rect_coverage(
    canvas: Canvas, left: float, top: float, right: float, bottom: float, radius: float, softness: float = 0.006
) -> np.ndarray:
    cu, cv = (left + right) / 2, (top + bottom) / 2
    half_u, half_v = (right - left) / 2 - radius, (bottom - top) / 2 - radius
    qu = np.abs(canvas.u - cu) - half_u
    qv = np.abs(canvas.v - cv) - half_v
    outside = np.sqrt(np.maximum(qu, 0) ** 2 + np.maximum(qv, 0) ** 2) + np.minimum(np.maximum(qu, qv), 0)
    return 1.0 - _smoothstep(radius - softness, radius + softness, outside)


def _paint_rect(image: np.ndarray, coverage: np.ndarray, luma: np.ndarray | float) -> None:
    image *= 1.0 - coverage
    image += coverage * luma


# --- the room -----------------------------------------------------------------

BED = (-0.33, 0.05, 0.33, 1.10)  # left, top, right, bottom; the foot end runs out of the picture
MATTRESS = (-0.30, 0.08, 0.30, 1.10)


def _floor(canvas: Canvas) -> np.ndarray:
    plank_width = 0.11
    plank_index = np.floor(canvas.u / plank_width)
    # Deterministic per-plank shade so the floor looks like boards, not a flat wash.
    plank_shade = 6.0 * np.sin(plank_index * 12.9898) * np.ones_like(canvas.v)
    seam_position = np.abs((canvas.u / plank_width) - plank_index - 0.5) * 2.0  # 1.0 at a seam
    seam = _smoothstep(0.9, 1.0, seam_position)
    return 58.0 + plank_shade - 14.0 * seam + 3.0 * np.sin(canvas.v * 9.0)


def _bedside_table(image: np.ndarray, canvas: Canvas) -> None:
    _paint_rect(image, _rounded_rect_coverage(canvas, 0.45, 0.04, 0.74, 0.30, 0.015), 88.0)
    # A glass and a phone on the table reflect IR strongly.
    _paint_dome(image, canvas, (0.66, 0.11), (0.028, 0.028), 190.0, relief=0.2)
    _paint_rect(image, _rounded_rect_coverage(canvas, 0.50, 0.14, 0.56, 0.25, 0.008), 40.0)


def _bed_frame_and_sheet(image: np.ndarray, canvas: Canvas) -> None:
    _paint_rect(image, _rounded_rect_coverage(canvas, *BED, 0.03), 78.0)
    sheet = 150.0 - 10.0 * np.abs(canvas.u) / 0.3
    _paint_rect(image, _rounded_rect_coverage(canvas, *MATTRESS, 0.02), sheet)


def _pillow(image: np.ndarray, canvas: Canvas, dented: bool) -> None:
    _paint_dome(image, canvas, (0.0, 0.165), (0.23, 0.085), 192.0, relief=0.3)
    if dented:
        _paint_bump(image, canvas, (0.02, 0.17), (0.08, 0.05), -22.0)


def _duvet(image: np.ndarray, canvas: Canvas, top: float, left_shift: float = 0.0, spill: float = 0.0) -> None:
    """The duvet from `top` to the foot end; `spill` lets it hang over the right-hand side."""
    right = 0.31 + spill
    coverage = _rounded_rect_coverage(canvas, -0.31 + left_shift, top, right, 1.12, 0.03, softness=0.01)
    folds = 7.0 * np.sin(canvas.u * 38.0 + canvas.v * 6.0) * np.sin(canvas.v * 11.0 + 1.3)
    _paint_rect(image, coverage, 146.0 + folds)
    # The turned-down edge of the duvet is a thick fold that catches the light.
    fold_band = np.exp(-(((canvas.v - top - 0.025) / 0.018) ** 2)) * coverage
    image += 24.0 * fold_band


def _sleeper(image: np.ndarray, canvas: Canvas, breath: float) -> None:
    # Body under the duvet, then the chest that rises and falls with breath (0..1).
    _paint_bump(image, canvas, (0.0, 0.66), (0.20, 0.42), 38.0)
    chest_scale = 1.0 + 0.06 * breath
    _paint_bump(image, canvas, (0.0, 0.43), (0.14 * chest_scale, 0.10 * chest_scale), 12.0 + 8.0 * breath)
    # An arm resting on the duvet.
    _paint_dome(image, canvas, (0.14, 0.50), (0.036, 0.13), 158.0, angle_deg=-18.0, relief=0.4)
    # Head on the pillow: hair darker than skin in IR.
    _paint_dome(image, canvas, (0.03, 0.19), (0.070, 0.082), 150.0, relief=0.45)
    _paint_dome(image, canvas, (0.03, 0.155), (0.066, 0.050), 92.0, relief=0.3)


def _person_on_floor(image: np.ndarray, canvas: Canvas, breath: float) -> None:
    # Lying on the floor to the right of the bed, head towards the bed's head end.
    angle = -32.0
    _paint_bump(image, canvas, (0.56, 0.62), (0.16, 0.34), -16.0, angle_deg=angle)  # shadow on the floor
    _paint_dome(image, canvas, (0.60, 0.74), (0.05, 0.20), 118.0, angle_deg=angle, relief=0.45)  # legs
    torso_scale = 1.0 + 0.05 * breath
    _paint_dome(
        image, canvas, (0.53, 0.52), (0.085 * torso_scale, 0.14), 132.0 + 6.0 * breath, angle_deg=angle, relief=0.45
    )
    _paint_dome(image, canvas, (0.66, 0.50), (0.025, 0.12), 140.0, angle_deg=-80.0, relief=0.4)  # outflung arm
    _paint_dome(image, canvas, (0.45, 0.36), (0.058, 0.068), 150.0, relief=0.45)  # head
    _paint_dome(image, canvas, (0.44, 0.33), (0.052, 0.040), 92.0, relief=0.3)  # hair


def _bedroom(canvas: Canvas) -> np.ndarray:
    image = _floor(canvas)
    _bedside_table(image, canvas)
    _bed_frame_and_sheet(image, canvas)
    return image


def _asleep(canvas: Canvas, breath: float) -> np.ndarray:
    image = _bedroom(canvas)
    _pillow(image, canvas, dented=True)
    _duvet(image, canvas, top=0.29)
    _sleeper(image, canvas, breath)
    return image


def _empty(canvas: Canvas, breath: float) -> np.ndarray:
    image = _bedroom(canvas)
    _pillow(image, canvas, dented=False)
    _duvet(image, canvas, top=0.46)
    return image


def _floor_fall(canvas: Canvas, breath: float) -> np.ndarray:
    image = _bedroom(canvas)
    _pillow(image, canvas, dented=True)
    _duvet(image, canvas, top=0.38, left_shift=0.04, spill=0.06)
    _person_on_floor(image, canvas, breath)
    return image


def _ceiling(canvas: Canvas, breath: float) -> np.ndarray:
    """Privacy position: the camera has turned up to look at the ceiling."""
    image = 112.0 + 10.0 * canvas.v + 0.0 * canvas.u
    # Where the ceiling meets the wall, with a cornice that catches the light.
    wall = _smoothstep(0.80, 0.81, canvas.v) * np.ones_like(canvas.u)
    _paint_rect(image, wall, 64.0)
    image += 40.0 * np.exp(-(((canvas.v - 0.805) / 0.012) ** 2))
    # Ceiling lamp (ring and shade) and a smoke detector.
    _paint_dome(image, canvas, (0.12, 0.40), (0.11, 0.11), 205.0, relief=0.15)
    _paint_dome(image, canvas, (0.12, 0.40), (0.06, 0.06), 150.0, relief=0.1)
    _paint_dome(image, canvas, (-0.52, 0.26), (0.035, 0.035), 185.0, relief=0.2)
    return image


def _lens_blocked(canvas: Canvas, breath: float) -> np.ndarray:
    # A hand, a cloth or tape over the lens: almost nothing but a faint IR glow.
    return BLACK + 3.0 + 2.0 * np.exp(-((canvas.u**2 + (canvas.v - 0.5) ** 2) / 0.2))


_RENDERERS = {
    "asleep": _asleep,
    "empty": _empty,
    "floor": _floor_fall,
    "ceiling": _ceiling,
    "dark": _lens_blocked,
}


def _optics(image: np.ndarray, canvas: Canvas, view: str) -> np.ndarray:
    """IR hot spot and soft lens: what makes a picture look like night vision."""
    if view != "dark":
        radius_sq = canvas.u**2 + (canvas.v - 0.5) ** 2
        falloff = 1.0 - 0.55 * np.clip(radius_sq / 1.05, 0.0, 1.0)
        image = BLACK + (image - BLACK) * falloff
    blur = max(1, image.shape[0] // 240)
    return _box_blur(image, blur)


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    for axis in (0, 1):
        padded = np.concatenate(
            [
                np.repeat(image.take([0], axis=axis), radius, axis=axis),
                image,
                np.repeat(image.take([-1], axis=axis), radius, axis=axis),
            ],
            axis=axis,
        )
        summed = np.cumsum(padded, axis=axis, dtype=np.float32)
        summed = np.concatenate([np.zeros_like(summed.take([0], axis=axis)), summed], axis=axis)
        width = 2 * radius + 1
        n = image.shape[axis]
        image = (summed.take(np.arange(width, width + n), axis=axis) - summed.take(np.arange(0, n), axis=axis)) / width
    return image


def render_view(width: int, height: int, view: str, breath: float = 0.0) -> np.ndarray:
    """One noise-free luma plane (float, video range) of a view."""
    canvas = Canvas.of_size(width, height)
    image = _RENDERERS[view](canvas, breath)
    return np.clip(_optics(image, canvas, view), BLACK, WHITE)


def breath_at(seconds: float) -> float:
    """Chest position 0..1 at a moment; slow sine like a sleeping adult (~13/min)."""
    return 0.5 - 0.5 * math.cos(2.0 * math.pi * seconds / BREATH_PERIOD_S)


class SceneLibrary:
    """Pre-rendered luma planes for one picture size, shared by all cameras.

    Base planes are stored minus BLACK and noise planes plus NOISE_CLIP so that
    `base + noise` in uint8 cannot overflow (max 219 + 32 = 251).
    """

    def __init__(self, width: int, height: int, seed: int = 20240611) -> None:
        self.width = width
        self.height = height
        self.bases: dict[str, list[np.ndarray]] = {}
        for view in VIEWS:
            if view in VIEWS_WITH_BREATHING:
                # Breathing is a small local change, so in-between phases are a
                # blend of the two extremes rather than separate renders.
                exhaled = render_view(width, height, view, breath=0.0)
                inhaled = render_view(width, height, view, breath=1.0)
                levels = [exhaled + (inhaled - exhaled) * (i / (BREATH_LEVELS - 1)) for i in range(BREATH_LEVELS)]
            else:
                levels = [render_view(width, height, view)]
            self.bases[view] = [self._to_offset_luma(level) for level in levels]
        rng = np.random.default_rng(seed)
        self.noise = [
            (
                np.clip(np.rint(rng.normal(0.0, NOISE_SIGMA, (height, width))), -NOISE_CLIP, NOISE_CLIP) + NOISE_CLIP
            ).astype(np.uint8)
            for _ in range(NOISE_FRAMES)
        ]

    @staticmethod
    def _to_offset_luma(image: np.ndarray) -> np.ndarray:
        return np.rint(image - BLACK).astype(np.uint8)

    def compose_luma(self, view: str, seconds: float, noise_index: int, out: np.ndarray) -> None:
        """Write the luma of `view` at time `seconds` with one grain pattern into `out`."""
        levels = self.bases[view]
        base = levels[round(breath_at(seconds) * (len(levels) - 1))]
        np.add(base, self.noise[noise_index % len(self.noise)], out=out)
