"""Photo-like scenes for duplicate tests and benchmarks: a textured backdrop, a few objects and
one subject the tiny model knows (`synthetic` labels), drawn so that one scene can be shot
again a moment later (the camera moved a little, the subject moved) or another scene can show
the same kind of subject (two red circles: similar, never duplicates).

The same scene drawn twice with the same shot is the same picture to the pixel; grain is the
sensor's and differs between shots.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .synthetic import COLOURS, Label, add_grain, render

OVERSCAN = 1.1  # drawn this much larger than the frame, so a moved camera still sees scenery


@dataclass(frozen=True)
class Shot:
    """Where the camera and the subject were, as fractions of the frame."""

    camera: tuple[float, float] = (0.0, 0.0)
    subject: tuple[float, float] = (0.0, 0.0)
    grain_seed: int = 0


@dataclass(frozen=True)
class Scene:
    seed: int
    label: Label

    def render(self, size: tuple[int, int], shot: Shot = Shot(), grain: float = 3.0) -> Image.Image:
        """The scene as the camera framed it in `shot`, `size` (width, height) pixels."""
        rng = random.Random(self.seed)
        width, height = size
        big = (int(width * OVERSCAN), int(height * OVERSCAN))
        canvas = _backdrop(big, rng)
        draw = ImageDraw.Draw(canvas)
        for _ in range(rng.randint(3, 6)):  # the scenery: objects that are not the subject
            _blob(draw, big, rng, rng.choice(list(COLOURS.values())), rng.uniform(0.05, 0.16))
        subject = render(self.label, (max(8, big[1] // 3), max(8, big[1] // 3)), random.Random(self.seed + 1))
        sx = int(big[0] * (0.5 + shot.subject[0]) - subject.width / 2)
        sy = int(big[1] * (0.5 + shot.subject[1]) - subject.height / 2)
        canvas.paste(subject, (sx, sy))
        left = int((big[0] - width) / 2 + shot.camera[0] * width)
        top = int((big[1] - height) / 2 + shot.camera[1] * height)
        frame = canvas.crop((left, top, left + width, top + height))
        return add_grain(frame, grain, random.Random(shot.grain_seed)) if grain > 0 else frame


def _backdrop(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Two colours blended by smooth noise of a few scales: sky, ground, texture."""
    np_rng = np.random.default_rng(rng.getrandbits(32))
    width, height = size
    field = np.zeros((height, width), dtype=np.float32)
    for cells, weight in ((3, 1.0), (9, 0.45), (27, 0.2)):
        coarse = Image.fromarray((np_rng.random((cells, cells)) * 255).astype(np.uint8))
        field += np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32) / 255 * weight
    field /= field.max() or 1.0
    top, bottom = (np.array([rng.randint(20, 235) for _ in range(3)], dtype=np.float32) for _ in range(2))
    gradient = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    mix = np.clip(gradient * 0.6 + field[..., None] * 0.6 - 0.1, 0, 1)
    pixels = top * (1 - mix) + bottom * mix
    return Image.fromarray(pixels.astype(np.uint8)).filter(ImageFilter.GaussianBlur(radius=1))


def _blob(
    draw: ImageDraw.ImageDraw, size: tuple[int, int], rng: random.Random, colour: tuple[int, int, int], scale: float
) -> None:
    width, height = size
    radius = min(width, height) * scale
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    corners = rng.choice((0, 3, 4, 5, 6))
    fill = tuple(max(0, min(255, c + rng.randint(-40, 40))) for c in colour)
    if corners == 0:
        draw.ellipse((cx - radius, cy - radius * rng.uniform(0.5, 1), cx + radius, cy + radius), fill=fill)
        return
    angle = rng.uniform(0, 2 * math.pi)
    draw.polygon(
        [
            (cx + radius * math.cos(angle + 2 * math.pi * i / corners), cy + radius * math.sin(angle + 2 * math.pi * i / corners))
            for i in range(corners)
        ],
        fill=fill,
    )


def scenes(count: int, seed: int = 0, labels: list[Label] | None = None) -> list[Scene]:
    """`count` different scenes, their subjects taken in turn from `labels` (all shapes by default)."""
    from .synthetic import shape_labels

    subjects: list[Label] = list(labels or shape_labels())
    return [Scene(seed * 100_003 + i * 7919, subjects[i % len(subjects)]) for i in range(count)]


__all__ = ["Scene", "Shot", "scenes"]
