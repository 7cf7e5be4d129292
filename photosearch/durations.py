"""How long something takes, written for people: one format for the terminal and the window."""

from __future__ import annotations


def duration_text(seconds: float) -> str:
    """`m:ss` below an hour, `h:mm:ss` from there (whole seconds, rounded down)."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"
