"""Held-out evaluation of a model on the synthetic vocabulary, through the real pipeline.

Used by the search-quality tests and by `tools/evaluate_tiny_model.py`, so the numbers in
README.md and the assertions in CI come from the same photos and the same arithmetic.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from photosearch.core.library import Library

from . import synthetic

SIZES = ((1024, 768), (1600, 1200), (1280, 960), (960, 1280), (2048, 1536))
TWELVE_MP = (4000, 3000)
ORIENTATIONS = (1, 1, 3, 6, 8)
LAYOUT = synthetic.LayoutLabel("red", "blue", "vertical")
FLIPPED = synthetic.LayoutLabel("blue", "red", "vertical")


def write_evaluation_library(folder: Path, seed: int = 424242, per_shape: int = 11) -> dict[str, str]:
    """Write held-out photos; returns {path: label key it displays}.

    Every colour×shape `per_shape` times (1–12 MP JPEG with EXIF, a share stored rotated with
    EXIF 3/6/8), 12 "red above blue" and 12 "blue above red" photos across orientations 1/3/6/8,
    and one photo of every third other layout as distractors.
    """
    rng = random.Random(seed)
    truth: dict[str, str] = {}
    i = 0
    for label in synthetic.shape_labels():
        for n in range(per_shape):
            size = TWELVE_MP if i % 40 == 0 else rng.choice(SIZES)
            path = synthetic.write_photo(folder / f"shape_{i:04d}.jpg", label, size, rng, ORIENTATIONS[n % len(ORIENTATIONS)])
            truth[str(path)] = label.key
            i += 1
    for n, orientation in enumerate((1, 3, 6, 8) * 3):
        for layout in (LAYOUT, FLIPPED):
            name = f"layout_{n:02d}_{layout.key.replace(' ', '-')}_o{orientation}.jpg"
            path = synthetic.write_photo(folder / name, layout, rng.choice(SIZES), rng, orientation)
            truth[str(path)] = layout.key
    for other in synthetic.layout_labels()[::3]:
        path = synthetic.write_photo(folder / f"other_{other.key.replace(' ', '-')}.jpg", other, (1200, 900), rng)
        truth[str(path)] = other.key
    return truth


def is_shape_photo(path: str) -> bool:
    return Path(path).name.startswith("shape_")


def shape_precision(library: Library, truth: dict[str, str], k: int = 10) -> dict[str, float]:
    """Text→image precision@k for every colour×shape query ("a red circle")."""
    out: dict[str, float] = {}
    for label in synthetic.shape_labels():
        results = library.search(f"a {label.colour} {label.shape}", k=k)
        out[label.key] = sum(truth[r.path] == label.key for r in results) / k
    return out


def image_top1(library: Library, truth: dict[str, str]) -> float:
    """Share of shape photos whose nearest other photo shows the same colour and shape."""
    paths = [p for p in truth if is_shape_photo(p)]
    same = sum(truth[library.similar(Path(p), k=1)[0].path] == truth[p] for p in paths)
    return same / len(paths)


def orientation_ranks(library: Library, truth: dict[str, str]) -> tuple[list[int], list[int]]:
    """Ranks (0-based) for "red above blue" of the photos displaying it and of the flipped ones."""
    ranked = [r.path for r in library.search(LAYOUT.key, k=len(truth))]
    wanted = [ranked.index(p) for p, key in truth.items() if key == LAYOUT.key]
    unwanted = [ranked.index(p) for p, key in truth.items() if key == FLIPPED.key]
    return wanted, unwanted


def report(library: Library, truth: dict[str, str]) -> dict[str, float]:
    precision = {k: shape_precision(library, truth, k) for k in (1, 5, 10)}
    wanted, unwanted = orientation_ranks(library, truth)
    return {
        **{f"text→image P@{k} colour×shape (mean)": float(np.mean(list(v.values()))) for k, v in precision.items()},
        "text→image P@10 colour×shape (worst query)": min(precision[10].values()),
        "image→image top-1 same colour and shape": image_top1(library, truth),
        '"red above blue" P@12 (9 of 12 stored rotated)': sum(r < len(wanted) for r in wanted) / len(wanted),
        '"red above blue": all upright-displayed ranked above all flipped': float(max(wanted) < min(unwanted)),
    }
