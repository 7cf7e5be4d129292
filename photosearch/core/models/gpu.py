"""Whether this computer could have a GPU, asked without importing torch (700 MB and seconds)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def gpu_possible() -> bool:
    """Whether this machine could have a GPU torch can use, asked without importing torch
    (700 MB and seconds): an NVIDIA driver, ROCm's kernel driver, or an Apple-silicon Mac."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists() or Path("/dev/kfd").exists()
    if sys.platform == "win32":
        return Path(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32", "nvcuda.dll").exists()
    return True
