"""A photo's cheap content identity: size plus its first and last 64 KiB.

Enough to recognise a moved or renamed photo without decoding it again. The indexing pipeline
computes it from the same open file it decodes (one open, one read of the head), the scanner
from a fresh open when it needs to pair a new path with a vanished photo.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024


def fingerprint_of(handle: BinaryIO, size: int | None = None) -> str:
    """The fingerprint of an open binary file (read from its start; the position is left anywhere)."""
    if size is None:
        size = os.fstat(handle.fileno()).st_size
    digest = hashlib.blake2b(digest_size=16)
    digest.update(size.to_bytes(8, "little"))
    handle.seek(0)
    digest.update(handle.read(CHUNK))
    if size > 2 * CHUNK:
        handle.seek(size - CHUNK)
        digest.update(handle.read(CHUNK))
    return digest.hexdigest()


def fingerprint(path: str | Path, size: int | None = None) -> str:
    with open(path, "rb") as handle:
        return fingerprint_of(handle, size)
