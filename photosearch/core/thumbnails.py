"""The thumbnail store: one small upright JPEG per photo, written while the photo is decoded
for the model, so the window never decodes an original to show a grid cell.

Qt cannot read HEIC or AVIF and a 12 MP JPEG costs it tens of milliseconds; the indexer already
holds each photo decoded at reduced size, so a thumbnail costs little more than its JPEG
encoding. Files are named by photo id (`records.thumbnail_file`, shared with the window): a
moved photo keeps its thumbnail, a changed one is decoded again and gets a new one, and a
deleted one's file is removed when the catalog says so (its `dropped_photos`). Each file is
written to a temporary name and renamed, so a reader never sees half a thumbnail.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from photosearch.records import thumbnail_file

from .look import look_hash

THUMBNAIL_SIZE = 320  # pixels on the long side: a 160-point grid cell on a 2× screen
THUMBNAIL_QUALITY = 85


def encode_thumbnail(image: Image.Image, size: int = THUMBNAIL_SIZE, turn: Image.Transpose | None = None) -> bytes:
    """An RGB or grey picture as thumbnail JPEG bytes (never larger than the picture), turned
    upright by `turn` once small."""
    return make_thumbnail(image, size, turn)[0]


def make_thumbnail(image: Image.Image, size: int = THUMBNAIL_SIZE, turn: Image.Transpose | None = None) -> tuple[bytes, int]:
    """The thumbnail JPEG bytes and the look hash (core/look.py) of the same small pixels.

    Bilinear from the DCT-reduced decode (a step of under 2× for a 12 MP JPEG) looks as good as
    bicubic at this size and, without the copy `Image.thumbnail` makes, costs ~40% less."""
    width, height = image.size
    scale = min(1.0, size / max(width, height))
    small = image.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BILINEAR, reducing_gap=2.0
    )
    if turn is not None:
        small = small.transpose(turn)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=False)
    look = look_hash(small)
    if small is not image:
        small.close()
    return out.getvalue(), look


class ThumbnailStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, photo_id: int, at: float | None = None) -> Path:
        return Path(thumbnail_file(str(self.folder), photo_id, at))

    def write_frames(self, photo_id: int, frames: Iterable[tuple[float, bytes]]) -> None:
        """A video's frame thumbnails (each search hit shows the frame that matched), replacing
        those of an earlier version of the video."""
        shutil.rmtree(self.path(photo_id, 0.0).parent, ignore_errors=True)
        for at, data in frames:
            self.write(photo_id, data, at)

    def write(self, photo_id: int, data: bytes, at: float | None = None) -> None:
        target = self.path(photo_id, at)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            staged.write_bytes(data)
            os.replace(staged, target)
        except BaseException:  # a full disk, a kill: no half-written file stays behind
            staged.unlink(missing_ok=True)
            raise

    def remove(self, photo_ids: Iterable[int]) -> int:
        removed = 0
        for photo_id in photo_ids:
            try:
                self.path(photo_id).unlink()
                removed += 1
            except FileNotFoundError:
                pass
            frames = self.path(photo_id, 0.0).parent
            if frames.is_dir():  # a video's frames
                shutil.rmtree(frames, ignore_errors=True)
        return removed

    def has(self, photo_id: int) -> bool:
        return self.path(photo_id).is_file()
