"""Synthetic "photos" with a small visual vocabulary the bundled tiny model understands.

One generator serves three users so they can never drift apart: the training script
(`tools/train_tiny_model.py`), `photosearch demo`, and the tests that prove search finds the
right photos. Images are drawn at any size (a 64 px training sample or a 12 MP "camera" photo)
with the subject inside the central square, so the model's centre crop always sees it.

Two label families:
- a coloured shape ("a red circle");
- a two-colour layout ("red above blue", "red left of blue") whose meaning changes when the
  picture is rotated: that is what makes EXIF-orientation bugs visible to a search test.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from photosearch.core.images import UPRIGHT_TRANSPOSE

from .heic import save_heic

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "green": (35, 165, 60),
    "blue": (35, 70, 215),
    "yellow": (240, 210, 40),
    "black": (18, 18, 18),
    "white": (242, 242, 242),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")

Axis = Literal["vertical", "horizontal"]


@dataclass(frozen=True)
class ShapeLabel:
    """One shape of one colour somewhere in the central square."""

    colour: str
    shape: str

    @property
    def key(self) -> str:
        return f"{self.colour} {self.shape}"

    def captions(self) -> list[str]:
        c, s = self.colour, self.shape
        return [f"{c} {s}", f"a {c} {s}", f"a photo of a {c} {s}", f"a picture of a {c} {s}"]


@dataclass(frozen=True)
class LayoutLabel:
    """Two colour regions: `first` above (vertical) or left of (horizontal) `second`."""

    first: str
    second: str
    axis: Axis

    @property
    def key(self) -> str:
        relation = "above" if self.axis == "vertical" else "left of"
        return f"{self.first} {relation} {self.second}"

    def captions(self) -> list[str]:
        a, b = self.first, self.second
        if self.axis == "vertical":
            return [f"{a} above {b}", f"{b} below {a}", f"{a} on top of {b}", f"{b} under {a}"]
        return [f"{a} left of {b}", f"{b} right of {a}", f"{a} to the left of {b}", f"{b} to the right of {a}"]


Label = ShapeLabel | LayoutLabel


def shape_labels() -> list[ShapeLabel]:
    return [ShapeLabel(c, s) for c in COLOURS for s in SHAPES]


def layout_labels() -> list[LayoutLabel]:
    axes: tuple[Axis, ...] = ("vertical", "horizontal")
    return [LayoutLabel(a, b, axis) for a in COLOURS for b in COLOURS if a != b for axis in axes]


def all_labels() -> list[Label]:
    return [*shape_labels(), *layout_labels()]


def _jitter(colour: tuple[int, int, int], rng: random.Random, amount: int = 14) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, v + rng.randint(-amount, amount))) for v in colour)
    return (r, g, b)


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def _background_colour(rng: random.Random, avoid: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """A muted colour that contrasts with every subject colour (so black and white stay visible)."""
    for _ in range(200):
        grey = rng.randint(60, 200)
        raw = [rng.randint(0, 255) for _ in range(3)]
        mix = rng.uniform(0.15, 0.45)  # keep backgrounds desaturated: never a named colour
        colour = tuple(int(grey * (1 - mix) + v * mix) for v in raw)
        candidate = (colour[0], colour[1], colour[2])
        if all(_distance(candidate, a) > 110 for a in avoid):
            return candidate
    return (128, 128, 128)


def _background(size: tuple[int, int], rng: random.Random, avoid: list[tuple[int, int, int]]) -> Image.Image:
    """Plain, gradient or noisy backdrop, drawn cheaply even at 12 MP."""
    w, h = size
    kind = rng.choice(("plain", "gradient", "noise"))
    c1 = _background_colour(rng, avoid)
    if kind == "plain":
        return Image.new("RGB", size, c1)
    if kind == "gradient":
        c2 = _background_colour(rng, avoid)
        small = np.zeros((16, 16, 3), dtype=np.float32)
        angle = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:16, 0:16] / 15.0
        t = (np.cos(angle) * xs + np.sin(angle) * ys + 1.5) / 3.0
        for ch in range(3):
            small[..., ch] = c1[ch] * (1 - t) + c2[ch] * t
        return Image.fromarray(small.astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)
    grain = rng.randint(8, 48)
    gw, gh = max(2, w // max(1, w // grain)), max(2, h // max(1, w // grain))
    noise_rng = np.random.default_rng(rng.getrandbits(32))
    noise = noise_rng.normal(0, rng.uniform(8, 22), size=(gh, gw, 3))
    arr = np.clip(np.array(c1, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr).resize(size, Image.Resampling.BICUBIC)


def _centre_square(size: tuple[int, int]) -> tuple[float, float, float]:
    """(left, top, side) of the central square: the part a centre crop keeps."""
    w, h = size
    side = min(w, h)
    return (w - side) / 2, (h - side) / 2, side


def _polygon(shape: str, cx: float, cy: float, radius: float, angle: float) -> list[tuple[float, float]]:
    corners = 4 if shape == "square" else 3
    r = radius if shape == "triangle" else radius * 0.9
    return [
        (cx + r * math.cos(angle + 2 * math.pi * i / corners), cy + r * math.sin(angle + 2 * math.pi * i / corners))
        for i in range(corners)
    ]


def _draw_shape(draw: ImageDraw.ImageDraw, label: ShapeLabel, size: tuple[int, int], rng: random.Random) -> None:
    left, top, side = _centre_square(size)
    radius = side * rng.uniform(0.17, 0.34)  # the subject of the photo, not a speck in it
    margin = radius * 1.05
    cx = left + rng.uniform(margin, side - margin)
    cy = top + rng.uniform(margin, side - margin)
    fill = _jitter(COLOURS[label.colour], rng)
    if label.shape == "circle":
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    else:
        draw.polygon(_polygon(label.shape, cx, cy, radius, rng.uniform(0, 2 * math.pi)), fill=fill)


def _draw_layout(image: Image.Image, label: LayoutLabel, rng: random.Random) -> None:
    """Two colour regions split by a slightly tilted line across the central square."""
    w, h = image.size
    left, top, side = _centre_square(image.size)
    first, second = _jitter(COLOURS[label.first], rng), _jitter(COLOURS[label.second], rng)
    inset = side * rng.uniform(0.0, 0.12)
    x0, y0, x1, y1 = left + inset, top + inset, left + side - inset, top + side - inset
    split = rng.uniform(0.4, 0.6)
    tilt = (y1 - y0) * rng.uniform(-0.12, 0.12)
    draw = ImageDraw.Draw(image)
    if label.axis == "vertical":
        ym = y0 + (y1 - y0) * split
        draw.polygon([(x0, y0), (x1, y0), (x1, ym + tilt), (x0, ym - tilt)], fill=first)
        draw.polygon([(x0, ym - tilt), (x1, ym + tilt), (x1, y1), (x0, y1)], fill=second)
    else:
        xm = x0 + (x1 - x0) * split
        draw.polygon([(x0, y0), (xm + tilt, y0), (xm - tilt, y1), (x0, y1)], fill=first)
        draw.polygon([(xm + tilt, y0), (x1, y0), (x1, y1), (xm - tilt, y1)], fill=second)
    del w, h


def render(label: Label, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Draw `label` as an RGB picture of `size` (width, height)."""
    subject = [COLOURS[label.colour]] if isinstance(label, ShapeLabel) else [COLOURS[label.first], COLOURS[label.second]]
    image = _background(size, rng, subject)
    if isinstance(label, ShapeLabel):
        _draw_shape(ImageDraw.Draw(image), label, size, rng)
    else:
        _draw_layout(image, label, rng)
    if rng.random() < 0.3:  # a little softness, like a real lens
        image = image.filter(ImageFilter.GaussianBlur(radius=min(size) * rng.uniform(0.001, 0.006)))
    return image


def training_stream(seed: int, size: int = 64, layout_share: float = 0.5) -> Iterator[tuple[Image.Image, Label]]:
    """An endless, reproducible stream of (small picture, label) pairs for training."""
    rng = random.Random(seed)
    shapes, layouts = shape_labels(), layout_labels()
    while True:
        label: Label = rng.choice(layouts) if rng.random() < layout_share else rng.choice(shapes)
        aspect = rng.choice((1.0, 1.0, 4 / 3, 3 / 4, 3 / 2, 2 / 3))
        render_side = rng.randint(size, size * 3)
        w = int(render_side * (aspect if aspect > 1 else 1))
        h = int(render_side / (aspect if aspect < 1 else 1))
        yield render(label, (w, h), rng), label


def add_grain(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    """Sensor-like noise: mostly luminance, a little chroma, as a camera at moderate ISO."""
    noise_rng = np.random.default_rng(rng.getrandbits(32))
    pixels = np.asarray(image, dtype=np.float32)
    height, width = pixels.shape[:2]
    luma = noise_rng.standard_normal((height, width, 1), dtype=np.float32) * np.float32(sigma)
    chroma = noise_rng.standard_normal((height, width, 3), dtype=np.float32) * np.float32(sigma * 0.4)
    return Image.fromarray(np.clip(pixels + luma + chroma, 0, 255).astype(np.uint8))


_DISPLAY_OP = UPRIGHT_TRANSPOSE  # what a viewer does with each EXIF orientation
_INVERSE_OP: dict[Image.Transpose, Image.Transpose] = {
    Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
}


def stored_pixels(display: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores so that EXIF `orientation` displays them as `display`."""
    if orientation not in _DISPLAY_OP:
        return display
    op = _DISPLAY_OP[orientation]
    return display.transpose(_INVERSE_OP.get(op, op))


def write_photo(
    path: Path,
    label: Label,
    size: tuple[int, int],
    rng: random.Random,
    orientation: int = 1,
    taken: str = "2024:06:01 12:00:00",
    grain: float = 0.0,
) -> Path:
    """Write a camera-like file (format from the suffix) that *displays* `label` at `size`.

    JPEGs carry EXIF (camera, date taken, orientation); the pixels are stored rotated so that
    only a viewer that honours the orientation tag sees the label the right way up. `grain`
    adds sensor noise (standard deviation in 8-bit levels): without it a 12 MP JPEG is ~0.2 MB
    of flat colour, with 5 it is ~3 MB like a phone's, and decoding costs what a real one does.
    """
    display = render(label, size, rng)
    if grain > 0:
        display = add_grain(display, grain, rng)
    pixels = stored_pixels(display, orientation)
    exif = Image.Exif()
    exif[0x010F] = "photosearch"  # Make
    exif[0x0110] = "synthetic camera"  # Model
    exif[0x0132] = taken  # DateTime
    if orientation != 1:
        exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".jpg", ".jpeg"):
        pixels.save(path, "JPEG", quality=90, exif=exif.tobytes())
    elif suffix in (".heic", ".heif"):
        save_heic(pixels, path, quality=85, exif=exif.tobytes())
    elif suffix == ".png":
        pixels.save(path, "PNG", exif=exif.tobytes(), compress_level=1)
    else:
        pixels.save(path)
    return path
