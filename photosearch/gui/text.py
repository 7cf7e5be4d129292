"""How the window writes dates, sizes and a photo's details (one place for each; durations: `photosearch.durations`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from photosearch.records import SearchHit


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
    return f"{hit.path}\n{details}{folded}"
