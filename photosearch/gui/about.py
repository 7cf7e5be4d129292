"""The About box: the version, what the app runs on, and the licences of what it is built from.

The notices (a short Markdown file kept in the package) are always there; an installed app
also carries every bundled component's full licence text (THIRD_PARTY_LICENSES.txt, made by
the installer build), shown in a second tab when present. LGPL-3.0 asks that users of Qt be
told, so the box names Qt's version and licence on its first page.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from photosearch import __version__

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
LICENSES = RESOURCES / "licenses"
NOTICES = LICENSES / "THIRD_PARTY_NOTICES.md"
ALL_LICENSES = LICENSES / "THIRD_PARTY_LICENSES.txt"


def runtime_line() -> str:
    """What this copy runs on, for bug reports: the app, Qt, PySide6, Python, the system."""
    frozen = " (installed app)" if getattr(sys, "frozen", False) else ""
    return (
        f"photosearch {__version__}{frozen} · Qt {qVersion()} · PySide6 {PySide6.__version__} · "
        f"Python {platform.python_version()} · {platform.system()} {platform.machine()}"
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About photosearch")
        self.resize(720, 560)
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>photosearch {__version__}</h2>", self)
        summary = QLabel(
            "Search your photo library by meaning: type what you remember, or drop a photo to find others like it.<br>"
            "Free software under the MIT licence. The window uses Qt, under the GNU LGPL v3.",
            self,
        )
        summary.setWordWrap(True)
        runtime = QLabel(runtime_line(), self)
        runtime.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget(self)
        self.notices = QTextBrowser(self.tabs)
        self.notices.setOpenExternalLinks(True)
        self.notices.setMarkdown(_read(NOTICES) or "The third-party notices file is missing from this installation.")
        self.tabs.addTab(self.notices, "Third-party notices")
        self.licenses: QTextBrowser | None = None
        if ALL_LICENSES.is_file():
            self.licenses = QTextBrowser(self.tabs)
            self.tabs.addTab(self.licenses, "Licence texts")
            self.tabs.currentChanged.connect(self._load_licenses)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        for widget in (title, summary, runtime, self.tabs, buttons):
            layout.addWidget(widget)

    def _load_licenses(self, index: int) -> None:
        """The full texts (about a megabyte) are read only when their tab is opened."""
        if self.licenses is not None and self.tabs.widget(index) is self.licenses and not self.licenses.toPlainText():
            self.licenses.setPlainText(_read(ALL_LICENSES) or "The licence texts cannot be read.")


def app_icon() -> QIcon:
    icon_file = RESOURCES / "icons" / "photosearch.svg"
    return QIcon(str(icon_file)) if icon_file.is_file() else QIcon()
