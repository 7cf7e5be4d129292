"""One window per library, as desktop apps do: a second launch on the same library (an "Open
with" from the file manager, a second click on the icon) hands its photos and words to the
window that is open, which comes to the front, and exits 0.

The window listens on a local socket named after its library (and the user), made for this
user alone; a launch first tries to reach it. A socket left by a window that crashed answers
no one, so the next window removes it and listens itself; one that answers belongs to a live
window and is never taken over. A window that switches library (to the demo) listens under the
new library's name.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

CONNECT_MS = 1000
REPLY_MS = 3000
MAX_MESSAGE = 1 << 20


def server_name(library: str | None) -> str:
    """The socket's name: per user and per library (a window on another library is another app)."""
    where = str(Path(library).expanduser().resolve()) if library else "default"
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    return "photosearch-" + hashlib.sha256(f"{user}\0{where}".encode()).hexdigest()[:24]


def hand_over(name: str, images: list[str], query: str | None) -> bool:
    """Give the photos and words to the window already open on this library; False when there
    is none (this launch opens the window)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(CONNECT_MS):
        return False
    socket.write(json.dumps({"images": images, "query": query}).encode() + b"\n")
    socket.flush()
    answered = socket.waitForReadyRead(REPLY_MS) and bytes(socket.readAll().data()).startswith(b"ok")
    socket.disconnectFromServer()
    return answered


def _answers(name: str) -> bool:
    socket = QLocalSocket()
    socket.connectToServer(name)
    connected = socket.waitForConnected(CONNECT_MS)
    socket.abort()
    return connected


class InstanceServer(QObject):
    """Listens for later launches on the same library; `received(images, query)` runs on the GUI thread."""

    def __init__(self, name: str, received: Callable[[list[str], str | None], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._received = received
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user's alone
        self.server.newConnection.connect(self._accept)
        self.listen_for(name)

    def listen_for(self, name: str) -> bool:
        """Listen under `name` (the window's library changed); False when a live window on
        that library listens there already."""
        if self.server.isListening():
            if self.server.serverName() == name:
                return True
            self.server.close()
        # checked first: with this user's access option, Qt listens by renaming its socket over
        # any socket already there, a live window's too
        if _answers(name):
            return False
        QLocalServer.removeServer(name)  # left by a window that crashed
        return self.server.listen(name)

    @property
    def listening(self) -> bool:
        return self.server.isListening()

    def _accept(self) -> None:
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda socket=socket: self._read(socket))
            self._read(socket)  # a launch that wrote at once: its line may be here already, with no readyRead to come

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            if socket.bytesAvailable() > MAX_MESSAGE:
                socket.abort()
            return
        try:
            message = json.loads(bytes(socket.readLine().data()))
            images = [str(i) for i in message.get("images", []) if isinstance(i, str)]
            query = message.get("query") if isinstance(message.get("query"), str) else None
        except (ValueError, AttributeError):
            socket.abort()
            return
        socket.write(b"ok\n")
        socket.flush()
        socket.disconnectFromServer()
        self._received(images, query)

    def close(self) -> None:
        self.server.close()
