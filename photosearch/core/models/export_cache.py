"""Where exported model graphs live, and how a stale, foreign or damaged export is recognised.

An export is a cache, never a source of truth: it is made here from the weights the user has,
kept in the user cache, and thrown away whenever anything about it does not match: the
weights' SHA-256, the architecture, the runtime's version, the export format, or a file's
size and SHA-256 (a changed byte in a graph can change answers without failing any probe).
Its manifest is written last, so a folder without one is an export that never finished. An
export that failed (a full disk, an architecture the exporter cannot trace) is remembered, so
that each start does not spend the export's time failing again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXPORT_FORMAT = 2  # raised whenever the exported graphs or the manifest change shape or meaning
RETRY_FAILED_EXPORT_S = 3600.0  # a failed export is tried again after this long…
RETRY_WITH_MORE_ROOM = 64 * 1024**2  # …or as soon as its disk has this much more room (beyond the weights' size)
MANIFEST = "manifest.json"
DIGESTS = "weights-digests.json"
RANDOM_WEIGHTS = "random-seed-0"  # benchmarks' random weights are seeded, so their exports are reusable


def export_cache_dir() -> Path:
    override = os.environ.get("PHOTOSEARCH_EXPORT_CACHE")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("photosearch")) / "exports"


@dataclass(frozen=True)
class ExportKey:
    """Everything an export depends on; any difference means it must be made again."""

    model: str
    arch: str
    weights: str  # SHA-256 of the weights file, or RANDOM_WEIGHTS
    runtime: str  # the inference runtime's version
    format: int = EXPORT_FORMAT

    def folder(self, root: Path) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.model)
        return root / f"{safe}-{self.weights[:12]}"


@dataclass
class Manifest:
    key: ExportKey
    dim: int
    image_size: int
    text_prefix: bool  # the text graph takes any length up to the end token (else all positions)
    files: dict[str, int] = field(default_factory=dict)  # name → size in bytes
    digests: dict[str, str] = field(default_factory=dict)  # name → SHA-256, checked at every start
    # fixed probe inputs and the reference vectors each graph gave when it was made
    probe_tokens: list[list[int]] = field(default_factory=list)
    references: dict[str, list[list[float]]] = field(default_factory=dict)
    quality: dict[str, float] = field(default_factory=dict)  # graph → least cosine to torch fp32 on the probes

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data: dict[str, Any] = json.loads(text)
        data["key"] = ExportKey(**data["key"])
        return cls(**data)


def read_manifest(folder: Path, key: ExportKey) -> Manifest | None:
    """The manifest of a finished export made for exactly `key` whose files all have their
    recorded size and content (benchmarks/export_digests.py measures what hashing costs)."""
    try:
        manifest = Manifest.from_json((folder / MANIFEST).read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if manifest.key != key or set(manifest.digests) != set(manifest.files):
        return None
    for name, size in manifest.files.items():
        try:
            if (folder / name).stat().st_size != size or file_digest(folder / name) != manifest.digests[name]:
                log.warning("the cached export in %s is damaged (%s changed since it was made): making it again", folder, name)
                return None
        except OSError:
            return None
    return manifest


def file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def write_manifest(folder: Path, manifest: Manifest) -> None:
    _replace_atomically(folder / MANIFEST, manifest.to_json().encode())


def publish(folder: Path, manifest: Manifest, name: str, made: Path) -> None:
    """Move a finished file into the export (atomic) and record its size and digest."""
    os.replace(made, folder / name)
    manifest.files[name] = (folder / name).stat().st_size
    manifest.digests[name] = file_digest(folder / name)


def remember_failure(root: Path, key: ExportKey, reason: str) -> None:
    """Note that making this export failed, why, and how much room its disk had."""
    note = {"key": asdict(key), "when": time.time(), "reason": reason, "free": _free_bytes(root)}
    try:
        _replace_atomically(_failure_file(root, key), json.dumps(note).encode())
    except OSError:  # a disk too full for a note: an empty file still records the time
        with contextlib.suppress(OSError):
            _failure_file(root, key).touch()


def recent_failure(root: Path, key: ExportKey, weights_size: int) -> str | None:
    """Why this export is not tried again yet (None: try it): it failed less than
    RETRY_FAILED_EXPORT_S ago and its disk has not gained the room it would need since."""
    marker = _failure_file(root, key)
    try:
        when = marker.stat().st_mtime
        note: dict[str, Any] = json.loads(marker.read_text() or "{}")
    except (OSError, ValueError):
        return None
    if note.get("key", asdict(key)) != asdict(key) or time.time() - when >= RETRY_FAILED_EXPORT_S:
        return None
    free_then = note.get("free")
    if isinstance(free_then, int) and _free_bytes(root) >= free_then + weights_size + RETRY_WITH_MORE_ROOM:
        return None
    failed, again = (time.strftime("%H:%M", time.localtime(t)) for t in (when, when + RETRY_FAILED_EXPORT_S))
    reason = note.get("reason", "see the log")
    return f"its export failed at {failed} ({reason}); it is tried again at {again}, or once its disk has more room"


def forget_failure(root: Path, key: ExportKey) -> None:
    _failure_file(root, key).unlink(missing_ok=True)


def _failure_file(root: Path, key: ExportKey) -> Path:
    return root / f"{key.folder(root).name}.failed"


def _free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


def start_export(folder: Path) -> None:
    """An empty folder for a new export: what was there is stale or damaged."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def prune_other_exports(root: Path, key: ExportKey) -> None:
    """Exports of the same model for other weights: each holds the model's size in graphs."""
    keep = key.folder(root)
    prefix = keep.name[: -len(key.weights[:12])]
    for other in root.glob(prefix + "*"):
        if other != keep and other.is_dir() and len(other.name) == len(keep.name):
            shutil.rmtree(other, ignore_errors=True)


def weights_digest(weights: Path, root: Path) -> str:
    """SHA-256 of a weights file, remembered by path, size and modification time (hashing
    hundreds of megabytes at every start would cost more than the export saves)."""
    stat = weights.stat()
    identity = f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_file = root / DIGESTS
    try:
        memo: dict[str, str] = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    if identity in memo:
        return memo[identity]
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    memo = {k: v for k, v in memo.items() if not k.startswith(f"{weights.resolve()}|")}
    memo[identity] = digest.hexdigest()
    try:
        root.mkdir(parents=True, exist_ok=True)
        _replace_atomically(memo_file, json.dumps(memo).encode())
    except OSError:
        pass  # a read-only cache only costs the hash next time
    return memo[identity]


def _replace_atomically(path: Path, data: bytes) -> None:
    scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    scratch.write_bytes(data)
    os.replace(scratch, path)
