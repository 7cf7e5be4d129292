"""Precision@k of the bundled tiny model per query family, through the real pipeline.

    .venv/bin/python tools/evaluate_tiny_model.py [--model tiny-shapes] [--seed 424242]

Writes held-out photos (1–12 MP JPEG with EXIF, some stored rotated) to a temporary folder,
indexes them like a user's library and prints a Markdown table (the one kept in README.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosearch.core.library import Library
from photosearch.samples import evaluation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-shapes")
    parser.add_argument("--seed", type=int, default=424242)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        truth = evaluation.write_evaluation_library(Path(scratch) / "photos", seed=args.seed)
        with Library(Path(scratch) / "library", model=args.model) as library:
            library.add_folder(Path(scratch) / "photos")
            library.index()
            metrics = evaluation.report(library, truth)
    print(f"| query family ({len(truth)} held-out photos, seed {args.seed}) | value |")
    print("|---|---|")
    for name, value in metrics.items():
        print(f"| {name} | {value:.3f} |")
    print(f"\n({time.monotonic() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
