"""Option values checked where they are read: a bad one is a usage error (exit 2) that names the
option and what it allows, never a traceback or a silent substitute."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

MAX_THREADS = 1024
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,2})?)$")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number ({low} to {high})") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range: use {low} to {high}")
        return value

    return parse


def fraction(text: str) -> float:
    """A number from 0 to 1 (not nan)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number from 0 to 1") from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is out of range: use a number from 0 to 1")
    return value


def device(text: str) -> str:
    if not DEVICE.match(text.lower()):
        raise argparse.ArgumentTypeError(f"'{text}' is not a device: use auto, cpu, cuda, cuda:N or mps")
    return text.lower()


def folder_path(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: name a folder")
    return text
