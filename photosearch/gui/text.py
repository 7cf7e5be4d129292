"""How the window writes dates, sizes and a photo's details (one place for each; durations: `photosearch.durations`)."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime

from photosearch.durations import duration_text
from photosearch.records import RAW_SUFFIXES, SearchHit


def taken_text(taken: float | None) -> str:
    """Wall-clock seconds (see records.SearchHit) as the camera's clock read them."""
    if taken is None or math.isnan(taken):
        return "date unknown"
    return datetime.fromtimestamp(taken, UTC).strftime("%Y-%m-%d %H:%M")


def size_text(size: float) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def hit_text(hit: SearchHit) -> str:
    """A result's path and details, for its tooltip and the preview."""
    folded = f"\nand {hit.folded - 1} other form{'s' * (hit.folded > 2)} of this photo" if hit.folded > 1 else ""
    details = f"{taken_text(hit.taken)} · {hit.width}×{hit.height} · {size_text(hit.size)} · score {hit.score:.3f}"
    if hit.kind == "video":
        length = f" of {duration_text(hit.duration)}" if hit.duration is not None else ""
        details = f"best match at {duration_text(hit.at or 0.0)}{length} · {details}"
    companions = "".join(f"\nwith {path}" for path in hit.companions)
    return f"{hit.path}{companions}\n{details}{folded}"


def media_label(hit: SearchHit) -> str | None:
    """What a grid cell's corner says of its item: a video's length, RAW, a RAW beside the
    photo, a Live Photo; None for a plain photo."""
    if hit.kind == "video":
        return duration_text(hit.duration) if hit.duration is not None else "video"
    if hit.kind == "raw":
        return "RAW"
    kinds = {"RAW" if os.path.splitext(c)[1].lower() in RAW_SUFFIXES else "LIVE" for c in hit.companions}
    return " ".join(sorted(kinds, reverse=True)) or None
