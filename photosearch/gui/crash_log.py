"""Errors in the window's process go to its log and to a notice, never to the terminal.

An exception raised in a Qt slot reaches `sys.excepthook` (PySide prints it to stderr and goes
on); one in a thread reaches `threading.excepthook`; Qt's own warnings go to its message
handler. All three are sent to the log with what is needed to find the cause, and the user
gets one line in the status bar.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

from .main_thread import to_main

log = logging.getLogger("photosearch.gui")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def install(notice: Callable[[str], None]) -> None:
    """Route the window process's uncaught errors and Qt's messages to the log; `notice` tells
    the user (called on the GUI thread)."""

    def tell(message: str) -> None:
        to_main(lambda: notice(message))

    def on_exception(kind: type[BaseException], value: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, trace)
            return
        log.error("an error in the window", exc_info=(kind, value, trace))
        tell(f"Something went wrong ({kind.__name__}: {value}); the details are in the log")

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        on_exception(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)

    def on_qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        level = _QT_LEVELS.get(kind, logging.WARNING)
        log.log(level, "Qt: %s", message)
        if level >= logging.ERROR:
            tell(f"Qt: {message}")

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception
    qInstallMessageHandler(on_qt_message)
