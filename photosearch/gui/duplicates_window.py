"""The Duplicates window: one kind's groups, paged; a group's photos side by side with what
tells them apart; keep the suggested one (or others) and move the rest to the system trash;
undo; "not duplicates" remembered. Driven from the keyboard like the grid:

    Up/Down     the previous or next group        Left/Right  the previous or next photo
    Space       keep or not the photo in focus   Delete      move the photos not kept to the trash
    N           not duplicates                   Ctrl+Z      undo the last move to the trash

Never a permanent delete: photos go to the system trash (photosearch/trash.py) and leave the
library as any deleted photo does, when the worker sees them go; undo puts them back, and the
worker takes them in again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from photosearch.records import (
    DEFAULT_DUPLICATE_STRICTNESS,
    DUPLICATE_STRICTNESS,
    DuplicateGroup,
    DuplicatePage,
    DuplicatePhoto,
    thumbnail_file,
)
from photosearch.trash import Trashed, TrashError, move_to_trash, restore
from photosearch.worker import protocol as p

from .bridge import WorkerBridge
from .elided_label import ElidedLabel
from .text import size_text

PAGE = 50  # groups asked for at a time
KINDS = (("exact", "Exact copies"), ("same", "Same photo"), ("burst", "Bursts"))
PHRASES = {"exact": "exact copies", "same": "one photo in other forms", "burst": "bursts"}  # "3 groups of …"
STRICTNESS_NAMES = {1: "Strictest", 2: "Strict", 3: "Loose", 4: "Loosest"}
CARD_IMAGE = 200  # pixels of a photo's thumbnail box


class PhotoCard(QFrame):
    """One photo of a group: its thumbnail and what tells it apart, and whether it is kept."""

    toggled = Signal()

    def __init__(self, photo: DuplicatePhoto, thumbnail: Path | None, keep: bool, reason: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.photo = photo
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFixedWidth(CARD_IMAGE + 24)
        layout = QVBoxLayout(self)
        image = QLabel(self)
        image.setFixedSize(CARD_IMAGE, CARD_IMAGE)
        image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap = QPixmap(str(thumbnail)) if thumbnail is not None else QPixmap()
        if pixmap.isNull():
            image.setText("no thumbnail yet")
        else:
            fitted = Qt.AspectRatioMode.KeepAspectRatio
            image.setPixmap(pixmap.scaled(CARD_IMAGE, CARD_IMAGE, fitted, Qt.TransformationMode.SmoothTransformation))
        layout.addWidget(image)
        path = Path(photo.path)
        name = ElidedLabel(path.name, self)
        name.setToolTip(photo.path)
        layout.addWidget(name)
        details = [f"{photo.width}×{photo.height} · {size_text(photo.size)} · {path.suffix.lstrip('.').upper() or '?'}"]
        details.append(photo.taken or "no capture date")
        if photo.sharpness is not None:
            details.append(f"sharpness {photo.sharpness:.0f}")
        for line in details:
            layout.addWidget(QLabel(line, self))
        folder = ElidedLabel(str(path.parent), self, Qt.TextElideMode.ElideLeft)
        folder.setToolTip(str(path.parent))
        layout.addWidget(folder)
        self.keep = QCheckBox("&Keep", self)
        self.keep.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space on the card toggles it
        self.keep.setChecked(keep)
        self.keep.toggled.connect(self._changed)
        layout.addWidget(self.keep)
        self.reason = QLabel(f"Suggested: {reason}" if reason else "", self)
        self.reason.setWordWrap(True)
        layout.addWidget(self.reason)
        layout.addStretch(1)
        self._changed()

    def _changed(self) -> None:
        self._restyle()
        self.toggled.emit()

    def _restyle(self) -> None:
        """Grey when it goes to the trash; a highlighted border while it has the keys (the
        frame's own line was invisible in some styles)."""
        background = "" if self.keep.isChecked() else "background: palette(mid);"
        border = "border: 3px solid palette(highlight);" if self.hasFocus() else "border: 1px solid palette(dark);"
        self.setStyleSheet(f"PhotoCard {{ {background} {border} }}")

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self._restyle()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._restyle()


class DuplicatesWindow(QDialog):
    """Non-modal; asks the worker for pages of groups and answers again when the library changes."""

    notice = Signal(str)

    def __init__(self, bridge: WorkerBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.thumbnails = ""  # the library's thumbnail folder (from the worker's Ready)
        self.kind, self.strictness = KINDS[0][0], DEFAULT_DUPLICATE_STRICTNESS
        self.groups: list[DuplicateGroup] = []
        self.total = 0
        self._loaded = 0  # groups the worker has sent, from the first
        self._asking = False
        self._undo: list[list[Trashed]] = []
        self._gone: dict[str, int] = {}  # photos moved to the trash (path → id) that the worker may still list
        self.setWindowTitle("Duplicates")
        self.setModal(False)
        self.resize(1100, 640)
        self._build()
        self._refresh = QTimer(self, singleShot=True, interval=800)  # photos come and go in bursts
        self._refresh.timeout.connect(lambda: self.load(keep_place=True))
        bridge.library_changed.connect(self._library_changed)
        bridge.ready.connect(self._worker_ready)

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.tabs = QTabBar(self)
        for _, title in KINDS:
            self.tabs.addTab(title)
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs.currentChanged.connect(self._kind_chosen)
        top.addWidget(self.tabs)
        top.addStretch(1)
        top.addWidget(QLabel("Strictness:", self))
        self.strictness_box = QComboBox(self)
        for level in DUPLICATE_STRICTNESS:
            default = " (default)" if level == DEFAULT_DUPLICATE_STRICTNESS else ""
            self.strictness_box.addItem(f"{STRICTNESS_NAMES[level]}{default}", level)
        self.strictness_box.setCurrentIndex(self.strictness_box.findData(self.strictness))
        self.strictness_box.currentIndexChanged.connect(self._strictness_chosen)
        top.addWidget(self.strictness_box)
        layout.addLayout(top)
        self.summary = QLabel("Asking the worker…", self)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        split = QSplitter(self)
        self.list = QListWidget(split)
        self.list.currentRowChanged.connect(self._show_group)
        self.list.verticalScrollBar().valueChanged.connect(self._maybe_more)
        self.list.installEventFilter(self)
        self.cards_area = QScrollArea(split)
        self.cards_area.setWidgetResizable(True)
        self.cards_host = QWidget(self.cards_area)
        self.cards = QHBoxLayout(self.cards_host)
        self.cards.addStretch(1)
        self.cards_area.setWidget(self.cards_host)
        split.addWidget(self.list)
        split.addWidget(self.cards_area)
        split.setStretchFactor(1, 3)
        split.setSizes([300, 800])
        layout.addWidget(split, 1)

        buttons = QHBoxLayout()
        self.trash_button = QPushButton("Move the others to the &trash  (Delete)", self)
        self.trash_button.clicked.connect(self.trash_unkept)
        self.distinct_button = QPushButton("&Not duplicates  (N)", self)
        self.distinct_button.clicked.connect(self.not_duplicates)
        self.undo_button = QPushButton("&Undo  (Ctrl+Z)", self)
        self.undo_button.clicked.connect(self.undo)
        self.undo_button.setEnabled(False)
        for button in (self.trash_button, self.distinct_button, self.undo_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.message = ElidedLabel("", self)
        buttons.addWidget(self.message, 2)
        layout.addLayout(buttons)
        self._card_list: list[PhotoCard] = []

    # -- asking the worker ----------------------------------------------------------------

    def open_for(self, thumbnails: str) -> None:
        """Show the window (raised if open) and ask for the first page."""
        self.thumbnails = thumbnails
        self.show()
        self.raise_()
        self.activateWindow()
        self.list.setFocus()
        self.load()

    def load(self, keep_place: bool = False) -> None:
        """Ask for the groups again from the start (as many as were sent, when `keep_place`)."""
        count = max(PAGE, self._loaded) if keep_place else PAGE
        self._ask(0, count, replace=True)

    def _ask(self, offset: int, limit: int, replace: bool) -> None:
        if self._asking and not replace:
            return
        self._asking = True
        asked = (self.kind, self.strictness)
        command = p.Duplicates(kind=self.kind, strictness=self.strictness, offset=offset, limit=limit)
        if not self.bridge.request(command, lambda page: self._on_page(page, asked, replace), self._on_error):
            self._asking = False
            self.summary.setText("Waiting for the library to open…")

    def _on_error(self, reason: str) -> None:
        self._asking = False
        self.summary.setText(reason)

    def _on_page(self, page: DuplicatePage, asked: tuple[str, int], replace: bool) -> None:
        self._asking = False
        if asked != (self.kind, self.strictness):
            return  # the user chose another kind or strictness meanwhile
        summary = page.summary
        for index, (kind, title) in enumerate(KINDS):
            self.tabs.setTabText(index, f"{title} ({summary.groups.get(kind, 0)})")
        waiting = f" {summary.waiting} photos are still being compared." if summary.waiting else ""
        self.summary.setText(
            f"{page.total} group{'s' * (page.total != 1)} of {PHRASES[self.kind]}; "
            f"{size_text(summary.reclaimable.get(self.kind, 0))} in all but the largest photo of each.{waiting}"
            if page.total
            else f"No {PHRASES[self.kind]} at this strictness.{waiting}"
        )
        self.setWindowTitle(f"Duplicates · {page.total} group{'s' * (page.total != 1)} of {PHRASES[self.kind]}")
        fresh = [g for g in page.groups if not any(photo.path in self._gone for photo in g.photos)]
        current = self._current_key()
        if replace:
            self.groups = fresh
        else:
            self.groups.extend(fresh)
        self._loaded = page.offset + len(page.groups)  # the worker's count: some shown ones may be hidden here
        self.total = page.total
        self._fill_list(current)

    def _maybe_more(self, value: int) -> None:
        bar = self.list.verticalScrollBar()
        if value >= bar.maximum() - 4 and self._loaded < self.total:
            self._ask(self._loaded, PAGE, replace=False)

    def _worker_ready(self, _: object) -> None:
        if self.isVisible():  # opened before the worker answered, or its worker was replaced
            self.load()

    def _library_changed(self) -> None:
        if self.isVisible():
            self._refresh.start()

    # -- showing --------------------------------------------------------------------------

    def _fill_list(self, keep: tuple[int, ...] | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        row = 0
        for index, group in enumerate(self.groups):
            keeper = Path(group.photos[0].path).name
            item = QListWidgetItem(f"{len(group.photos)} photos · {size_text(group.reclaimable)} · {keeper}", self.list)
            item.setToolTip("\n".join(photo.path for photo in group.photos))
            if keep is not None and _key(group) == keep:
                row = index
        self.list.blockSignals(False)
        if self.groups:
            self.list.setCurrentRow(min(row, len(self.groups) - 1))
            self._show_group(self.list.currentRow())
        else:
            self._show_group(-1)

    def _current_key(self) -> tuple[int, ...] | None:
        row = self.list.currentRow()
        return _key(self.groups[row]) if 0 <= row < len(self.groups) else None

    def _show_group(self, row: int) -> None:
        for card in self._card_list:
            card.deleteLater()
        self._card_list = []
        self.trash_button.setEnabled(0 <= row < len(self.groups))
        self.distinct_button.setEnabled(0 <= row < len(self.groups))
        if not 0 <= row < len(self.groups):
            return
        group = self.groups[row]
        for index, photo in enumerate(group.photos):
            thumbnail = Path(thumbnail_file(self.thumbnails, photo.photo_id)) if self.thumbnails else None
            card = PhotoCard(photo, thumbnail, index == 0, group.keep_because if index == 0 else "", self.cards_host)
            card.toggled.connect(self._update_trash_button)
            card.installEventFilter(self)
            self.cards.insertWidget(index, card)
            self._card_list.append(card)
        self._update_trash_button()

    def _update_trash_button(self) -> None:
        unkept = [c for c in self._card_list if not c.keep.isChecked()]
        kept = len(self._card_list) - len(unkept)
        self.trash_button.setEnabled(bool(unkept) and kept > 0)
        self.trash_button.setText(
            f"Move {len(unkept)} to the &trash ({size_text(sum(c.photo.size for c in unkept))})  (Delete)"
            if unkept
            else "Move the others to the &trash  (Delete)"
        )

    # -- acting ---------------------------------------------------------------------------

    def trash_unkept(self) -> None:
        """Move the photos not kept of the shown group to the system trash (never all of them).
        Photos kept together were reviewed: they are not shown as duplicates of each other again."""
        row = self.list.currentRow()
        kept = [c.photo for c in self._card_list if c.keep.isChecked()]
        unkept = [c.photo for c in self._card_list if not c.keep.isChecked()]
        if not 0 <= row < len(self.groups) or not unkept:
            return
        if not kept:
            self._say("Keep at least one photo of the group.")
            return
        moved: list[Trashed] = []
        freed = 0
        for photo in unkept:
            try:
                moved.append(move_to_trash(Path(photo.path)))
            except TrashError as exc:
                self._say(str(exc))
                continue
            self._gone[photo.path] = photo.photo_id
            freed += photo.size
        if not moved:
            return
        if len(kept) > 1:
            self.bridge.send(p.NotDuplicates(photo_ids=tuple(photo.photo_id for photo in kept)))
        self._undo.append(moved)
        self.undo_button.setEnabled(True)
        self._say(f"Moved {len(moved)} photo{'s' * (len(moved) != 1)} to the trash ({size_text(freed)}). Ctrl+Z puts them back.")
        self._drop_row(row)

    def not_duplicates(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.groups):
            return
        ids = tuple(photo.photo_id for photo in self.groups[row].photos)
        if self.bridge.request(p.NotDuplicates(photo_ids=ids), lambda _: None):
            self._say("Remembered: these are not duplicates.")
            self._drop_row(row)

    def undo(self) -> None:
        """Put the photos of the last move to the trash back where they were."""
        if not self._undo:
            return
        back = 0
        for item in self._undo.pop():
            try:
                restore(item)
            except TrashError as exc:
                self._say(str(exc))
                continue
            self._gone.pop(str(item.original), None)
            back += 1
        self.undo_button.setEnabled(bool(self._undo))
        if back:
            self._say(f"Put {back} photo{'s' * (back != 1)} back; the library takes them in again in a moment.")

    def _drop_row(self, row: int) -> None:
        del self.groups[row]
        self.total = max(0, self.total - 1)
        self._fill_list(_key(self.groups[min(row, len(self.groups) - 1)]) if self.groups else None)
        self.list.setFocus()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.notice.emit(text)

    # -- keys -----------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        """Activated (shown, or come back to): the groups have the keys unless a card has them."""
        super().changeEvent(event)
        active = event.type() == QEvent.Type.ActivationChange and self.isActiveWindow()
        if active and not isinstance(self.focusWidget(), PhotoCard):
            self.list.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Keys no widget took (the strictness box in focus, say) still act on the group."""
        if not self._act_on_key(event):
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The keys, read where they arrive: the list and the cards (arrows, Space) and the
        window's own keys (Delete, N, Ctrl+Z), whichever has the focus."""
        if event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if self._act_on_key(event):
                return True
            if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self._card_list:
                focused = watched if isinstance(watched, PhotoCard) else None
                index = self._card_list.index(focused) if focused in self._card_list else -1
                step = 1 if key == Qt.Key.Key_Right else -1
                self._card_list[max(0, min(len(self._card_list) - 1, index + step))].setFocus()
                return True
            if key == Qt.Key.Key_Space and isinstance(watched, PhotoCard):
                watched.keep.toggle()
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and isinstance(watched, PhotoCard):
                self.list.setFocus()
                self.list.setCurrentRow(max(0, self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)))
                return True
        return super().eventFilter(watched, event)

    def _act_on_key(self, event: QKeyEvent) -> bool:
        # the keypad's Delete (and X's mapping of Delete, as xdotool sends it) carries the keypad flag
        plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if event.matches(QKeySequence.StandardKey.Undo):
            self.undo()
        elif event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and plain:
            self.trash_unkept()
        elif event.key() == Qt.Key.Key_N and plain:
            self.not_duplicates()
        else:
            return False
        return True

    def _kind_chosen(self, index: int) -> None:
        self.kind = KINDS[index][0]
        self.groups = []
        self.load()

    def _strictness_chosen(self, _: int) -> None:
        self.strictness = int(self.strictness_box.currentData())
        self.groups = []
        self.load()


def _key(group: DuplicateGroup) -> tuple[int, ...]:
    return tuple(sorted(photo.photo_id for photo in group.photos))
