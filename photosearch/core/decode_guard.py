"""A file that crashes its decoder is skipped, not decoded again at every restart.

LibRaw and FFmpeg are large C parsers; a hostile or damaged RAW file or video could crash one,
killing the worker, which the window restarts, which would decode the same pending file again:
a crash loop that stops the library for good. So each RAW or video decode leaves a mark (a file
named by the photo's id, holding how many decodes of it began) for as long as it runs. A mark
still there when indexing starts was left by a process that died mid-decode; once a file has
been begun twice without finishing, it is skipped with the reason, and tried again only when it
changes. Twice, because one death can be a kill or a power cut that merely happened then.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

CRASHES_BEFORE_SKIPPING = 2
REASON = "its decoder stopped the app while reading it (a damaged or hostile file?)"


class DecodeGuard:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextlib.contextmanager
    def decoding(self, photo_id: int) -> Iterator[None]:
        mark = self.folder / str(photo_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            mark.write_text(str(self._begun(mark) + 1))
        except OSError:  # a full disk or a read-only library: decode unguarded rather than not at all
            yield
            return
        try:
            yield
        finally:
            mark.unlink(missing_ok=True)

    def crashed(self) -> list[int]:
        """Photos whose decode was begun CRASHES_BEFORE_SKIPPING times and never finished."""
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return []
        return [int(e.name) for e in entries if e.name.isdigit() and self._begun(Path(e.path)) >= CRASHES_BEFORE_SKIPPING]

    def forget(self, photo_ids: list[int]) -> None:
        for photo_id in photo_ids:
            (self.folder / str(photo_id)).unlink(missing_ok=True)

    @staticmethod
    def _begun(mark: Path) -> int:
        try:
            return int(mark.read_text() or 0)
        except (OSError, ValueError):
            return 0
