"""Videos (MP4, MOV, MKV, WebM, AVI, 3GP) through FFmpeg (PyAV): a few keyframes along the clip,
each a picture for the model with its time.

Why keyframes, reached by seeking: a keyframe decodes on its own, so a frame every so often
costs one seek and one decode, whatever the video's length, where decoding every frame of an
hour of 1080p would cost minutes. How many: a density that grows with the square root of the
length, capped, so a 10-second clip gets about one a second and an hour about one every
half minute. A frame that looks like the one kept before it (a still scene) is dropped: it
would only repeat a vector. A video that cannot seek (some AVI and WebM files have no index)
is read from the start, keyframes only.

Limits as for photos: the frame being decoded is reserved in the memory budget, and a video
that takes longer than VIDEO_SECONDS stops there, keeping the frames it has (a video of which
nothing could be read is skipped with the reason).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .images import DecodeError, PhotoInfo, fit_square
from .memory_budget import SHARED_BUDGET, MemoryBudget
from .thumbnails import make_thumbnail

VIDEO_SECONDS = 120.0  # at most this long spent on one video's frames
# The only demuxer a file may reach, by its name: FFmpeg would otherwise probe the content and
# could treat a file named .mp4 as a playlist (HLS, concat) that opens other files or addresses.
_DEMUXERS = {
    ".mp4": "mov",
    ".mov": "mov",
    ".m4v": "mov",
    ".3gp": "mov",
    ".3g2": "mov",
    ".mkv": "matroska",
    ".webm": "matroska",
    ".avi": "avi",
}
# …and nothing but the file itself may be opened (no network, no nested protocols)
_OPEN_OPTIONS = {"protocol_whitelist": "file"}
MAX_FRAMES = 100
FRAMES_PER_ROOT_SECOND = 3.0  # frames ≈ this × √(length in seconds)
_SAME_LOOK = 3.0  # mean difference (8-bit levels) of two 8×8 colour miniatures below which frames repeat
_WORKSPACE = 16 * 1024**2


@dataclass(frozen=True)
class VideoFrames:
    """What indexing a video yields: one model picture, time and thumbnail per kept frame."""

    pixels: np.ndarray  # (frames, size, size, 3) uint8
    times: tuple[float, ...]  # seconds from the start
    thumbnails: tuple[bytes, ...]  # upright JPEGs (empty when not asked for)
    info: PhotoInfo  # the video's upright size, when it was recorded, its length, its cover thumbnail


def frame_count(duration: float) -> int:
    """How many frames a video of `duration` seconds is sampled at."""
    return max(1, min(MAX_FRAMES, math.ceil(FRAMES_PER_ROOT_SECOND * math.sqrt(max(0.0, duration)))))


def load_video(
    path: Path | str,
    size: int,
    budget: MemoryBudget | None = None,
    thumbnail: int = 0,
    time_limit: float | None = None,
) -> VideoFrames:
    """Decode a video's sampled keyframes for the model; DecodeError with a reason otherwise."""
    try:
        import av
    except ImportError:
        raise DecodeError("videos need PyAV, which this installation lacks") from None
    deadline = time.monotonic() + (VIDEO_SECONDS if time_limit is None else time_limit)
    try:
        demuxer = _DEMUXERS.get(Path(path).suffix.lower())
        if demuxer is None:
            raise DecodeError("not a video format this app reads")
        with av.open(str(path), format=demuxer, options=_OPEN_OPTIONS, metadata_errors="ignore") as container:
            streams = [s for s in container.streams.video if not _is_cover_art(s)]
            if not streams:
                raise DecodeError("no video in this file")
            stream = streams[0]
            if stream.codec_context is None:  # FFmpeg read the container but has no decoder for its codec
                raise DecodeError("no decoder in this installation for this video's codec")
            stream.thread_count = 1  # the decode pool's threads are the parallelism
            stream.codec_context.skip_frame = "NONKEY"
            duration = _duration(container, stream)
            sampler = _Sampler(size, thumbnail, budget or SHARED_BUDGET, deadline)
            if duration > 0:
                _sample_by_seeking(container, stream, duration, sampler)
            if not sampler.kept:  # no length, or seeking found nothing: read it from the start
                _sample_in_order(container, stream, duration, sampler)
            if not sampler.kept:
                raise DecodeError("no frame of this video could be decoded")
            width, height = sampler.shape
            info = PhotoInfo(
                width=width,
                height=height,
                taken=_recorded(container.metadata),
                thumbnail=sampler.cover_thumbnail(),
                look=sampler.cover_look(),
                duration=duration if duration > 0 else max(sampler.times),
            )
            return VideoFrames(np.stack(sampler.kept), tuple(sampler.times), tuple(sampler.thumbnails), info)
    except DecodeError:
        raise
    except MemoryError:
        raise DecodeError("not enough memory to decode this video", retry=True) from None
    except FileNotFoundError:
        raise DecodeError("file disappeared before it could be read", retry=True) from None
    except PermissionError:
        raise DecodeError("no permission to read the file", retry=True) from None
    except Exception as exc:  # FFmpeg's errors (InvalidDataError…), and whatever a hostile file provokes
        raise DecodeError(_reason(exc)) from None


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "moov atom not found" in text or "Invalid data found" in text or "End of file" in text:
        return "video is truncated or damaged"
    return f"could not decode video ({type(exc).__name__}: {text})"


_ATTACHED_PICTURE = 0x400  # AV_DISPOSITION_ATTACHED_PIC: a cover image, not a video


def _is_cover_art(stream: Any) -> bool:
    try:
        return bool(int(stream.disposition) & _ATTACHED_PICTURE)
    except (TypeError, ValueError, AttributeError):
        return False


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return max(0.0, float(stream.duration * stream.time_base))
    if container.duration is not None:
        return max(0.0, container.duration / 1_000_000)
    return 0.0


def _recorded(metadata: dict[str, str]) -> str | None:
    """When the video was recorded, as local "YYYY-MM-DD HH:MM:SS" like a photo's EXIF time:
    Apple's creation date (local, with its offset), else the container's (UTC) creation time."""
    for key, local in (("com.apple.quicktime.creationdate", True), ("creation_time", False)):
        text = metadata.get(key)
        if not text:
            continue
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        if moment.year < 1971:  # an unset clock (QuickTime counts from 1904)
            continue
        if not local and moment.tzinfo is not None:
            moment = moment.astimezone()  # UTC to this machine's local time
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return None


class _Sampler:
    """Keeps the decoded frames that are far enough apart and look different from the last."""

    def __init__(self, size: int, thumbnail: int, budget: MemoryBudget, deadline: float) -> None:
        self.size, self.thumbnail, self.budget, self.deadline = size, thumbnail, budget, deadline
        self.kept: list[np.ndarray] = []
        self.times: list[float] = []
        self.thumbnails: list[bytes] = []
        self.looks: list[int] = []
        self.spread: list[float] = []  # how much is in each kept frame (the cover is a busy one)
        self.shape = (0, 0)
        self._last_miniature: np.ndarray | None = None

    @property
    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def offer(self, frame: Any) -> None:
        at = float(frame.time or 0.0)
        if self.times and at <= self.times[-1]:
            return  # the same keyframe again (two targets before one keyframe)
        rotation = int(getattr(frame, "rotation", 0) or 0) % 360
        width, height = int(frame.width), int(frame.height)
        with self.budget.reserve(width * height * 4 + _WORKSPACE):
            short = max(self.size, self.thumbnail * 3 // 4)
            scale = short / min(width, height)
            picture = frame.to_image(width=max(1, round(width * scale)), height=max(1, round(height * scale)))
        picture = _upright(picture, rotation)
        self.shape = (height, width) if rotation in (90, 270) else (width, height)
        miniature = np.asarray(picture.resize((8, 8), Image.Resampling.BOX), dtype=np.float32)
        if self._last_miniature is not None and float(np.abs(miniature - self._last_miniature).mean()) < _SAME_LOOK:
            return
        self._last_miniature = miniature
        self.kept.append(np.asarray(fit_square(picture, self.size).convert("RGB"), dtype=np.uint8))
        self.times.append(at)
        self.spread.append(float(miniature.std()))
        if self.thumbnail:
            small, look = make_thumbnail(picture, self.thumbnail)
            self.thumbnails.append(small)
            self.looks.append(look)

    def _cover(self) -> int:
        """The first kept frame with something in it (not a fade from black), else the first."""
        return next((i for i, spread in enumerate(self.spread) if spread > 12.0), 0)

    def cover_thumbnail(self) -> bytes | None:
        return self.thumbnails[self._cover()] if self.thumbnails else None

    def cover_look(self) -> int | None:
        return self.looks[self._cover()] if self.looks else None


def _upright(picture: Image.Image, rotation: int) -> Image.Image:
    """FFmpeg's rotation is counter-clockwise degrees to apply for display (phones record sideways)."""
    turn = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}.get(rotation)
    return picture.transpose(turn) if turn is not None else picture


def _sample_by_seeking(container: Any, stream: Any, duration: float, sampler: _Sampler) -> None:
    count = frame_count(duration)
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    for index in range(count):
        if sampler.out_of_time:
            return
        target = start + duration * index / count
        try:
            container.seek(round(target / stream.time_base), stream=stream, backward=True, any_frame=False)
            frame = next(container.decode(stream), None)
        except StopIteration:
            frame = None
        if frame is None:
            continue
        sampler.offer(frame)


def _sample_in_order(container: Any, stream: Any, duration: float, sampler: _Sampler) -> None:
    """Every keyframe from the start, keeping one per sampling step (a second when the length
    is unknown)."""
    step = duration / frame_count(duration) if duration > 0 else 1.0
    try:
        container.seek(0, stream=stream)
    except Exception:
        pass  # already at the start, or a stream that cannot seek at all
    due = -math.inf
    for frame in container.decode(stream):
        if sampler.out_of_time or len(sampler.kept) >= MAX_FRAMES:
            return
        at = float(frame.time or 0.0)
        if at >= due:
            sampler.offer(frame)
            due = at + step
