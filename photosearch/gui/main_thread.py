"""One way back to the GUI thread, for every thread that has something for the window.

Qt widgets may only be touched from the GUI thread; work done elsewhere (the worker client's
reader, thumbnail loads, a fetched web picture, a stopping worker) hands its result over with
`to_main(fn)`: `fn` runs on the GUI thread at its next event-loop turn, in the order handed
over. The spirit of Picard's `run_task`/`to_main`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)


class _Relay(QObject):
    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # one failed hand-over must not take the others (or the window) down
            log.exception("a call handed to the GUI thread failed")


_relay: _Relay | None = None
_lock = threading.Lock()


def to_main(fn: Callable[[], None]) -> None:
    """Run `fn` on the GUI thread soon (from any thread, the GUI thread included)."""
    global _relay
    with _lock:
        if _relay is None:
            app = QCoreApplication.instance()
            if app is None:
                raise RuntimeError("to_main needs a running Qt application")
            _relay = _Relay()
            if _relay.thread() is not app.thread():
                _relay.moveToThread(app.thread())
    _relay.call.emit(fn)
