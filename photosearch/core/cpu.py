"""How photosearch shares the CPU: how many threads it uses, and background priority for indexing.

Background work (decoding, batch inference) yields the CPU to queries.

On Linux a thread's nice value is its own (setpriority with the thread id), and threads it
starts inherit it; so lowering the indexing thread and the decode pool lets a search thread at
normal priority take a core at once, while indexing still uses every idle cycle. Elsewhere this
is a no-op and the worker's cooperative yielding (between batches) is what remains.
"""

from __future__ import annotations

import os
import sys
import threading

BACKGROUND_NICE = 10
# Decode threads sit below the thread that runs the model, whatever its priority: the model
# never waits at a barrier for one of its own threads that a decoder displaced, and decoding
# still takes every cycle the model leaves (so the decode pool may have a thread per core).
DECODE_NICE = 15


def default_threads() -> int:
    """Threads for the worker's inference: every core but one, which stays free for the user."""
    return max(1, (os.cpu_count() or 2) - 1)


def decode_threads() -> int:
    """Threads for decoding: one per core (they run below everything else, see DECODE_NICE)."""
    return max(1, os.cpu_count() or 2)


def make_current_thread_background(nice: int = BACKGROUND_NICE) -> bool:
    """Lower the calling thread's priority by `nice` (irreversible for it); True if it worked."""
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))
    except OSError:
        return False
    return True
