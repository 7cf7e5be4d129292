"""Ask Linux to back the vector index with 2 MB pages (transparent huge pages).

An HNSW search is a walk to random vectors: at a million photos it touches a 2 GB block at
random, and with 4 KB pages nearly every step also misses the TLB (dearer still inside a VM,
where a miss walks two page tables). Most distributions ship THP in "madvise" mode, so memory
only gets huge pages when it asks. hnswlib allocates with malloc and hides its pointers, so
`huge_pages_for_new_memory` notes the process's large anonymous mappings before an hnswlib
call and advises the ones that appeared during it: MADV_HUGEPAGE for memory about to be
filled, and MADV_COLLAPSE (Linux 6.1+) for memory already filled, such as a loaded index.
glibc gives every block above 32 MB its own mapping, so any index big enough to care (~15k
photos and up) is found; a smaller one may sit in the heap and keep 4 KB pages. Everywhere
else (macOS, Windows, THP off, old kernels) this does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25
HUGE_PAGE = 2 << 20
MIN_MAPPING = 2 * HUGE_PAGE  # smaller blocks gain nothing

Span = tuple[int, int]


def supported() -> bool:
    """Linux with THP not switched off."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mode = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[never]" not in mode


def anonymous_mappings(min_bytes: int = MIN_MAPPING) -> set[Span]:
    """(start, end) of the process's writable anonymous mappings of at least `min_bytes`."""
    spans: set[Span] = set()
    try:
        with open("/proc/self/maps", errors="surrogateescape") as maps:  # mapped file names are bytes
            for line in maps:
                fields = line.split()
                if len(fields) > 5 and not (fields[5] == "[heap]" or fields[5].startswith("[anon")):
                    continue  # file-backed, stack, vdso... ("[anon: glibc: malloc]" when named)
                start, end = (int(x, 16) for x in fields[0].split("-"))
                if fields[1].startswith("rw") and end - start >= min_bytes:
                    spans.add((start, end))
    except OSError:
        pass
    return spans


def _libc_madvise() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        function = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def advise(spans: set[Span], collapse: bool) -> int:
    """Advise the whole huge pages inside `spans`; returns the bytes advised."""
    madvise = _libc_madvise()
    if madvise is None:
        return 0
    advised = 0
    for start, end in sorted(spans):
        first = (start + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)
        last = end & ~(HUGE_PAGE - 1)
        if last - first < HUGE_PAGE:
            continue
        if madvise(first, last - first, MADV_HUGEPAGE) != 0:
            continue
        advised += last - first
        if collapse:
            madvise(first, last - first, MADV_COLLAPSE)  # best effort: EINVAL before Linux 6.1
    return advised


@contextmanager
def huge_pages_for_new_memory(collapse: bool, enabled: bool = True) -> Iterator[list[Span]]:
    """Advise the large mappings created inside the block; yields the list it fills.

    `collapse`: the block fills the memory itself (a load), so it is rebuilt from huge pages
    at once instead of waiting for khugepaged. A mapping that another thread created in the
    meantime may be advised too, which is harmless.
    """
    advised: list[Span] = []
    if not enabled or not supported():
        yield advised
        return
    before = anonymous_mappings()
    yield advised
    fresh = anonymous_mappings() - before
    if advise(fresh, collapse):
        advised.extend(sorted(fresh))


def huge_bytes_in(spans: list[Span]) -> int:
    """About how much of `spans` is backed by huge pages now (AnonHugePages, /proc/self/smaps).
    That depends on the kernel finding free 2 MB blocks: on a fragmented machine it may be 0.

    The kernel may since have merged a span with a neighbouring mapping, so each mapping that
    overlaps a span counts for at most the overlap.
    """
    return _smaps_totals(spans)[0]


def advised_bytes_in(spans: list[Span]) -> int:
    """How much of `spans` lies in mappings advised for huge pages (VmFlags 'hg'): what this
    module controls, whatever the kernel could then provide."""
    return _smaps_totals(spans)[1]


def _smaps_totals(spans: list[Span]) -> tuple[int, int]:
    """(bytes on huge pages, bytes advised) of the mappings overlapping `spans`."""
    huge = advised = overlap = 0
    try:
        with open("/proc/self/smaps", errors="surrogateescape") as smaps:
            for line in smaps:
                head = line.split(maxsplit=1)[0]
                if "-" in head and not head.endswith(":"):
                    start, end = (int(x, 16) for x in head.split("-"))
                    overlap = sum(max(0, min(end, b) - max(start, a)) for a, b in spans)
                elif overlap and head == "AnonHugePages:":
                    huge += min(int(line.split()[1]) * 1024, overlap)
                elif overlap and head == "VmFlags:" and "hg" in line.split()[1:]:
                    advised += overlap
    except OSError:
        return 0, 0
    return huge, advised
