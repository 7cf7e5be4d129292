"""One base class for every error whose message is written for the user.

The command line, the worker and the window each catch `UserError` alone and show its message
as it is (one line, no traceback); anything else is a bug, which goes to the log file.
"""

from __future__ import annotations

import errno


class UserError(Exception):
    """An error whose message says, in one line, what went wrong and what to do.

    `plain`, when given, says the same without command-line words (no options, no commands to
    type): what the window shows, where the message would tell a user of the window to run
    `photosearch …` in a terminal."""

    def __init__(self, message: str = "", *, plain: str = "") -> None:
        super().__init__(message)
        self.plain = plain


class UsageError(UserError):
    """The command was asked for something it cannot do as asked (the CLI exits with status 2)."""


def one_line(exc: BaseException) -> str:
    """An exception's first line for a user or a status field (its type when it says nothing)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def plain_line(exc: BaseException) -> str:
    """What the window says about `exc`: its plain words when it has them, else its first line."""
    plain = getattr(exc, "plain", "") if isinstance(exc, UserError) else ""
    return plain or one_line(exc)


def means_disk_full(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from) is a full disk or an exhausted quota: a
    state to wait out, not a failure to report again and again."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "disk is full" in str(seen) or "No space left on device" in str(seen):  # SQLite's SQLITE_FULL
            return True
        seen = seen.__cause__ or seen.__context__
    return False
