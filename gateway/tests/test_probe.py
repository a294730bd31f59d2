"""The probe's picture judgement, on synthetic pictures (real cameras: test_real_path.py)."""

from __future__ import annotations

import random
import subprocess
import sys

from gateway.probe import analyse_crops, probe_camera

SIZE = 320 * 180


def room(seed: int = 1) -> list[int]:
    """A grey room with some edges (furniture), video range."""
    rng = random.Random(seed)
    return [60 + (40 if (index // 37) % 5 == 0 else 0) + rng.randint(-3, 3) for index in range(SIZE)]


def with_grain(picture: list[int], rng: random.Random, amplitude: int) -> bytes:
    return bytes(min(235, max(16, value + rng.randint(-amplitude, amplitude))) for value in picture)


def test_a_live_grainy_picture_is_neither_black_nor_frozen() -> None:
    rng, base = random.Random(2), room()
    assert analyse_crops([with_grain(base, rng, 4) for _ in range(10)]) == (False, False)


def test_a_still_picture_with_frozen_grain_is_frozen() -> None:
    rng, base = random.Random(3), room()
    still = with_grain(base, rng, 4)
    # An encoder refining a still picture changes a few pixels by a step or two.
    refined = [bytes(v + 1 if i % 50 == k else v for i, v in enumerate(still)) for k in range(10)]
    assert analyse_crops(refined) == (False, True)


def test_a_black_picture_is_black() -> None:
    rng = random.Random(4)
    assert analyse_crops([with_grain([18] * SIZE, rng, 2) for _ in range(10)])[0] is True


def test_a_single_picture_counts_as_frozen() -> None:
    assert analyse_crops([bytes(room())])[1] is True


def test_an_unreachable_camera_is_a_result_not_an_exception() -> None:
    result = probe_camera("rtsp://user:secret@127.0.0.1:9/nothing", seconds=0.5, open_timeout_s=1.0)
    assert result.reachable is False and result.error and "secret" not in result.error


def test_the_probe_imports_without_aiortc_or_django() -> None:
    code = (
        "import sys, gateway.probe; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiortc', 'django', 'aiohttp')))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
