"""How photosearch shares the CPU: how many threads it uses, and background priority for indexing.

Background work (decoding, batch inference) yields the CPU to queries.

On Linux a thread's nice value is its own (setpriority with the thread id), and threads it
starts inherit it; so lowering the indexing thread and the decode pool lets a search thread at
normal priority take a core at once, while indexing still uses every idle cycle. Windows has
thread priorities to the same end (below normal, and lowest for decoders); macOS has quality of
service classes instead (utility: the scheduler's class for long work the user is not waiting
on; "background" would keep it to the efficiency cores). The worker's cooperative yielding
between batches works everywhere besides.
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
    if sys.platform == "win32":
        return _windows_priority(nice)
    if sys.platform == "darwin":
        return _macos_utility_class()
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))
    except OSError:
        return False
    return True


_THREAD_PRIORITY_BELOW_NORMAL, _THREAD_PRIORITY_LOWEST = -1, -2
_QOS_CLASS_UTILITY = 0x11


def _windows_priority(nice: int) -> bool:
    try:
        import ctypes

        kernel32 = getattr(ctypes, "windll").kernel32  # noqa: B009 - Windows only
        level = _THREAD_PRIORITY_LOWEST if nice >= DECODE_NICE else _THREAD_PRIORITY_BELOW_NORMAL
        return bool(kernel32.SetThreadPriority(kernel32.GetCurrentThread(), level))
    except (OSError, AttributeError):
        return False


def _macos_utility_class() -> bool:
    try:
        import ctypes

        system = ctypes.CDLL("/usr/lib/libSystem.dylib")
        return system.pthread_set_qos_class_self_np(ctypes.c_uint(_QOS_CLASS_UTILITY), ctypes.c_int(0)) == 0
    except (OSError, AttributeError):
        return False
