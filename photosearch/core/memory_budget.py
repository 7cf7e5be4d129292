"""A memory budget shared by the decode threads, so peak memory does not grow with their number.

A 12 MP JPEG decodes at reduced DCT scale into a few hundred kilobytes, but a highly compressed
200-megapixel PNG decodes into gigabytes; with one decode thread per core a folder of such files
could take tens of gigabytes at once. Each decode reserves what it will need before it allocates
and gives it back when done: small photos never wait, large ones take turns, and one larger than
the whole budget runs alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DEFAULT_DECODE_BUDGET = 2 * 1024**3  # benchmarks/decode_memory.py measures what it holds
LARGE = 64 * 1024**2  # a reservation this big hands its freed pages back to the system


class MemoryBudget:
    def __init__(self, limit: int = DEFAULT_DECODE_BUDGET) -> None:
        self.limit = max(1, limit)
        self._free = self.limit
        self._cond = threading.Condition()
        self.peak_reserved = 0  # for tests and benchmarks

    @contextmanager
    def reserve(self, cost: int) -> Iterator[None]:
        """Hold `cost` bytes of the budget (at most all of it) for the duration of the block."""
        cost = min(max(0, cost), self.limit)
        with self._cond:
            self._cond.wait_for(lambda: self._free >= cost)
            self._free -= cost
            self.peak_reserved = max(self.peak_reserved, self.limit - self._free)
        try:
            yield
        finally:
            if cost >= LARGE:
                return_freed_memory()
            with self._cond:
                self._free += cost
                self._cond.notify_all()


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    return trim


_TRIM = _malloc_trim()


def return_freed_memory() -> None:
    """Give freed heap memory back to the system now (glibc keeps it per thread arena, so pages
    one decode thread freed would otherwise stay resident while the next thread allocates anew)."""
    if _TRIM is not None:
        _TRIM(0)


SHARED_BUDGET = MemoryBudget()
"""The process's one budget: indexing, thumbnails and photo queries decode against it together."""
