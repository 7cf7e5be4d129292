"""`photosearch duplicates`: list the library's duplicate groups for people and scripts.

Nothing is ever deleted here: the suggested keeper comes first with its reason, the others
after it; moving photos to the trash is the window's, where the user sees them side by side.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from photosearch.records import (
    DEFAULT_DUPLICATE_STRICTNESS,
    DUPLICATE_KINDS,
    DUPLICATE_STRICTNESS,
    DuplicateGroup,
    DuplicatePhoto,
    DuplicateSummary,
    printable,
)

from .text import megabytes

KIND_TEXT = dict(zip(DUPLICATE_KINDS, ("exact copies", "the same photo in other forms", "bursts and near shots"), strict=True))


def print_groups(groups: dict[str, list[DuplicateGroup]], waiting: int, as_json: bool) -> None:
    if as_json:
        print(json.dumps([{**asdict(g), "reclaimable": g.reclaimable} for found in groups.values() for g in found], indent=1))
        return
    for kind, found in groups.items():
        space = sum(g.reclaimable for g in found)
        print(f"{KIND_TEXT[kind]}: {len(found)} group{'s' * (len(found) != 1)}, {megabytes(space)} in all but the photos to keep")
        for group in found:
            keeper, *others = group.photos
            print(f"  keep   {printable(keeper.path)}  ({_details(keeper)}; {group.keep_because})")
            for photo in others:
                print(f"  also   {printable(photo.path)}  ({_details(photo)})")
            print()
    if waiting:
        print(f"{waiting} photos are not grouped yet: the running app groups them while idle, as does `photosearch index`")


def _details(photo: DuplicatePhoto) -> str:
    sharp = f", sharpness {photo.sharpness:.0f}" if photo.sharpness is not None else ""
    return f"{photo.width}×{photo.height}, {megabytes(photo.size)}{sharp}"


def summary_line(summary: DuplicateSummary) -> str:
    """Status's line: groups and space per kind, and what is left to group."""
    parts = [
        f"{count} group{'s' * (count != 1)} of {KIND_TEXT[kind]} ({megabytes(summary.reclaimable[kind])})"
        for kind in DUPLICATE_KINDS
        if (count := summary.groups[kind])
    ]
    waiting = f"; {summary.waiting} photos not compared yet" if summary.waiting else ""
    listed = " — `photosearch duplicates` lists them" if parts else ""
    return (", ".join(parts) or "none found") + waiting + listed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    levels, default = DUPLICATE_STRICTNESS, DEFAULT_DUPLICATE_STRICTNESS
    parser.add_argument("--kind", choices=DUPLICATE_KINDS, help="one kind only (default: all three)")
    parser.add_argument(
        "--strictness",
        type=int,
        choices=levels,
        default=default,
        help=f"{levels.start} (strictest) to {levels.stop - 1} (loosest); default {default}",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output (the keeper first in each group)")
