"""Any file a library takes (a photo, a RAW file, a video) to what the model sees: one door
for the pipeline, the thumbnail maker and image queries, so they never disagree on a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from photosearch.records import kind_of_path

from .images import PhotoInfo, load_for_model
from .memory_budget import MemoryBudget
from .raw import load_raw
from .thumbnails import ThumbnailStore
from .video import load_video


@dataclass(frozen=True)
class Decoded:
    """A file decoded for the model: one picture, or a video's frames with their times."""

    pixels: np.ndarray  # (size, size, 3); a video's (frames, size, size, 3)
    info: PhotoInfo
    frames: tuple[float, ...] | None = None  # a video's frame times, seconds
    frame_thumbnails: tuple[bytes, ...] = ()

    @property
    def pictures(self) -> np.ndarray:
        """(n, size, size, 3): every picture the model embeds for this file."""
        return self.pixels.reshape(-1, *self.pixels.shape[-3:])

    def write_thumbnails(self, store: ThumbnailStore, photo_id: int) -> bool:
        """Its thumbnail, and a video's frames' too, into `store`; False when it has none.
        Raises OSError (a full disk)."""
        if self.info.thumbnail is None:
            return False
        store.write(photo_id, self.info.thumbnail)
        if self.frames is not None:
            store.write_frames(photo_id, zip(self.frames, self.frame_thumbnails, strict=True))
        return True


def decode_media(
    path: Path | str, size: int, budget: MemoryBudget | None = None, thumbnail: int = 0, opened: BinaryIO | None = None
) -> Decoded:
    """Decode by the file's kind (its name); `opened`: the photo already open at its start (a
    RAW or a video is read by its own library from the path). Raises DecodeError."""
    kind = kind_of_path(str(path))
    if kind == "raw":
        return Decoded(*load_raw(path, size, budget, thumbnail=thumbnail, opened=opened))
    if kind == "video":
        video = load_video(path, size, budget, thumbnail=thumbnail)
        return Decoded(video.pixels, video.info, video.times, video.thumbnails)
    return Decoded(*load_for_model(opened if opened is not None else Path(path), size, budget, thumbnail=thumbnail))
