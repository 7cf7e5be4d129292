"""Settings the window remembers (QSettings): model, device, inference backend, thumbnail size,
window geometry; and the settings dialog, which also edits the library's excluded folders
(library state, kept in its catalog). A model, device or backend change restarts the worker."""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QPlainTextEdit,
    QSlider,
    QWidget,
)

from photosearch.records import INFERENCE_BACKENDS
from photosearch.worker.protocol import WorkerSettings

from .grid import DEFAULT_CELL, MAX_CELL, MIN_CELL

DEVICES = ("auto", "cpu", "cuda")
DEVICE_NAMES = {"auto": "Automatic (GPU when present)", "cpu": "CPU", "cuda": "GPU (CUDA)"}
BACKEND_NAMES = {
    "auto": "Automatic (ONNX Runtime on a CPU, int8 where it proves itself)",
    "onnx": "ONNX Runtime",
    "onnx-int8": "ONNX Runtime, int8 (faster indexing, approximate)",
    "torch": "PyTorch",
}


@dataclass
class Preferences:
    model: str = ""  # empty: the library's own model
    device: str = "auto"
    backend: str = "auto"
    cell: int = DEFAULT_CELL
    fold_duplicates: bool = False  # a photo's copies and other forms shown as one cell in results

    @classmethod
    def load(cls, store: QSettings) -> Preferences:
        def text(key: str, default: str) -> str:
            value = store.value(key, default)
            return value if isinstance(value, str) else default

        try:
            cell = int(store.value("grid/cell", DEFAULT_CELL))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            cell = DEFAULT_CELL
        return cls(
            model="",  # each library keeps its own model (its catalog records it): never one for all
            device=text("worker/device", "auto") if text("worker/device", "auto") in DEVICES else "auto",
            backend=text("worker/backend", "auto") if text("worker/backend", "auto") in INFERENCE_BACKENDS else "auto",
            cell=max(MIN_CELL, min(MAX_CELL, cell)),
            fold_duplicates=str(store.value("results/fold_duplicates", "false")).lower() == "true",
        )

    def worker_settings(self, base: WorkerSettings) -> WorkerSettings:
        """`base` with these preferences applied ("auto" and "" leave the base's choice)."""
        device = None if self.device == "auto" else self.device
        backend = None if self.backend == "auto" else self.backend
        return replace(base, model=self.model or base.model, device=device or base.device, backend=backend or base.backend)

    def save(self, store: QSettings) -> None:
        store.remove("worker/model")  # a global choice from an older release would stick to every library
        store.setValue("worker/device", self.device)
        store.setValue("worker/backend", self.backend)
        store.setValue("grid/cell", self.cell)
        store.setValue("results/fold_duplicates", "true" if self.fold_duplicates else "false")


class SettingsDialog(QDialog):
    def __init__(
        self,
        preferences: Preferences,
        models: list[str],
        excluded: tuple[str, ...],
        parent: QWidget | None = None,
        without_weights: tuple[str, ...] = (),
        gpu: bool = True,
    ) -> None:
        """`without_weights`: models listed but not usable offline (marked, still choosable: the
        window offers their download); `gpu`: whether this computer could have one (else the
        GPU choice is shown, disabled, saying why)."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.model = QComboBox(self)
        self.model.addItem("The library's model", "")
        for name in models:
            self.model.addItem(f"{name} (weights not downloaded)" if name in without_weights else name, name)
        self.model.setCurrentIndex(max(0, self.model.findData(preferences.model)))
        form.addRow("&Model", self.model)
        self.device = QComboBox(self)
        for device in DEVICES:
            self.device.addItem(DEVICE_NAMES[device] + ("" if gpu or device != "cuda" else " — no GPU found"), device)
            if device == "cuda" and not gpu and preferences.device != "cuda":
                item = self.device.model().item(self.device.count() - 1)  # type: ignore[attr-defined]
                item.setEnabled(False)
        self.device.setCurrentIndex(max(0, self.device.findData(preferences.device)))
        form.addRow("&Device", self.device)
        self.backend = QComboBox(self)
        for backend in INFERENCE_BACKENDS:
            self.backend.addItem(BACKEND_NAMES[backend], backend)
        self.backend.setCurrentIndex(max(0, self.backend.findData(preferences.backend)))
        form.addRow("&Inference", self.backend)
        self.cell = QSlider(Qt.Orientation.Horizontal, self)
        self.cell.setRange(MIN_CELL, MAX_CELL)
        self.cell.setValue(preferences.cell)
        form.addRow("&Thumbnail size", self.cell)
        self.fold = QCheckBox("Show each photo &once: its copies and other forms fold into one cell", self)
        self.fold.setChecked(preferences.fold_duplicates)
        form.addRow("Duplicates", self.fold)
        self.excluded = QPlainTextEdit("\n".join(excluded), self)
        self.excluded.setPlaceholderText("One folder per line, inside a library folder: its photos are left out of the library")
        form.addRow("&Excluded folders", self.excluded)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def preferences(self) -> Preferences:
        return Preferences(
            model=str(self.model.currentData() or ""),
            device=str(self.device.currentData() or "auto"),
            backend=str(self.backend.currentData() or "auto"),
            cell=self.cell.value(),
            fold_duplicates=self.fold.isChecked(),
        )

    def excluded_folders(self) -> tuple[str, ...]:
        return tuple(sorted({line.strip() for line in self.excluded.toPlainText().splitlines() if line.strip()}))
