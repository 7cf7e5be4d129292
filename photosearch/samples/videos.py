"""Videos for tests, the demo and benchmarks: known pictures at known times, encoded by PyAV.

A clip is a list of scenes, each a picture (a label the tiny model knows, drawn by
synthetic.render) shown for some seconds; a keyframe starts every second, as phones write
them, so a search can name the second a scene starts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image

from .synthetic import Label, render

# container suffix → the codec it is written with (each in PyAV's own FFmpeg)
_CODECS = {".webm": "libvpx"}  # every other container takes MPEG-4 part 2 (LGPL, in every FFmpeg build)


def encoder_for(suffix: str) -> str:
    """The FFmpeg encoder a video named with `suffix` is written with."""
    return _CODECS.get(suffix.lower(), "mpeg4")


def write_video(
    path: Path,
    scenes: Sequence[tuple[Label | Image.Image, float]],
    size: tuple[int, int] = (320, 240),
    fps: int = 10,
    rng: random.Random | None = None,
    rotation: int = 0,
    created: str | None = "2024-06-30T16:05:00.000000Z",
    keyframe_seconds: float = 1.0,
) -> Path:
    """Write `scenes` (a label or a picture, and how many seconds it shows) as a video. With
    `rotation` (90, 180, 270), the frames are stored turned and the stream says how to show
    them (as a phone held upright records)."""
    import av

    rng = rng or random.Random(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures = [(item if isinstance(item, Image.Image) else render(item, size, rng), seconds) for item, seconds in scenes]
    stored_size = (size[1], size[0]) if rotation in (90, 270) else size
    with av.open(str(path), "w") as container:
        if created is not None:
            container.metadata["creation_time"] = created
        stream: Any = container.add_stream(encoder_for(path.suffix), rate=fps)
        stream.width, stream.height = stored_size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = max(1, round(fps * keyframe_seconds))
        stream.codec_context.time_base = Fraction(1, fps)
        if rotation:
            stream.set_display_rotation(rotation)
        for picture, seconds in pictures:
            stored = _stored(picture.convert("RGB").resize(size), rotation)
            for _ in range(max(1, round(seconds * fps))):
                for packet in stream.encode(av.VideoFrame.from_image(stored)):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _stored(display: Image.Image, rotation: int) -> Image.Image:
    """The frame as the camera stores it, so that turning it `rotation` degrees counter-clockwise shows `display`."""
    undo = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}.get(rotation)
    return display.transpose(undo) if undo is not None else display
