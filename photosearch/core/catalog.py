"""The catalog: one SQLite file (WAL) that is the single source of truth of a library.

It holds the folders, every photo, RAW file and video seen (indexed, skipped with a reason, or
pending), one embedding per photo per model (one per kept frame of a video), and a change log
that the vector index replays. Embedding row
ids are the vector index labels and are never reused (AUTOINCREMENT): a re-embedded photo gets a
new label, so a stale label can never alias a new vector. Triggers write the change log in the
same transaction as the embedding change, so the two can never disagree after a crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from photosearch.errors import UserError
from photosearch.records import MEDIA_KINDS, FolderState, HitRow, frame_ms, kind_of_path

from .catalog_schema import SCHEMA_VERSION, migrate
from .look import to_db as looks_to_db
from .path_text import from_db, to_db

log = logging.getLogger(__name__)

EXCLUDED_KEY = "excluded_folders"  # meta: a JSON list of folders the scans pass over


# When a photo was taken, as local "YYYY-MM-DD HH:MM:SS": EXIF's time, else the file's mtime.
_TAKEN = "COALESCE(p.taken, datetime(p.mtime_ns / 1000000000, 'unixepoch', 'localtime'))"


def _below(folder: str) -> tuple[str, str]:
    """The stored-path range of everything below `folder`: paths >= the first and < the second
    (a range scan on the path index; the second is the first string past every 'folder/…')."""
    start = to_db(folder).rstrip(os.sep) + os.sep
    return start, start[:-1] + chr(ord(os.sep) + 1)


class CatalogError(UserError):
    """The catalog file cannot be opened or used; the message is for the user."""


class CatalogDamaged(CatalogError):
    """The catalog file is damaged (SQLite found a malformed page)."""


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc)
    return "malformed" in text or "not a database" in text


def damage_message(path: Path, exc: BaseException | str) -> str:
    return f"the catalog {path} is damaged ({exc}): run `photosearch repair` to restore it from its backup"


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    state: FolderState


@dataclass(frozen=True)
class PhotoRow:
    id: int
    folder_id: int
    path: str
    size: int
    mtime_ns: int
    fingerprint: str | None
    status: str
    skip_reason: str | None


class NewPhoto(NamedTuple):
    folder_id: int
    path: str
    size: int
    mtime_ns: int


class ChangedPhoto(NamedTuple):
    id: int
    size: int
    mtime_ns: int


class MovedPhoto(NamedTuple):
    """A photo row that keeps its id (and embedding) at a new path."""

    id: int
    path: str
    size: int
    mtime_ns: int
    folder_id: int


@dataclass(frozen=True)
class IndexState:
    model: str
    file: str
    size: int
    sha256: str
    dim: int
    applied_seq: int
    vectors: int
    deleted: int


@dataclass(frozen=True)
class PendingPhoto:
    """A photo waiting to be embedded, with the size and mtime the catalog expects of it."""

    id: int
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skip:
    """A photo that could not be indexed, why, and whether to try again at the next scan
    (the cause lay outside the file: permissions, an I/O error) or only when it changes."""

    photo: PendingPhoto
    reason: str
    retry: bool = False


@dataclass(frozen=True)
class Embedded:
    """One photo's (or video's) successful result, ready to commit."""

    photo: PendingPhoto
    vector: np.ndarray  # (dim,) for a still; (frames, dim) for a video
    fingerprint: str
    width: int
    height: int
    taken: str | None
    thumbnail: bool = False  # a thumbnail of this version of the photo was written
    look: int | None = None  # its perceptual hash (core/look.py)
    frames: tuple[float, ...] | None = None  # a video: each vector's frame time, seconds
    duration: float | None = None  # a video's length, seconds


_PHOTO_COLUMNS = "id, folder_id, path, size, mtime_ns, fingerprint, status, skip_reason"


def _photo_row(row: tuple) -> PhotoRow:
    return PhotoRow(row[0], row[1], from_db(row[2]), *row[3:])


class Catalog:
    """Thread-safe access to the catalog file (one connection, one lock; WAL lets other processes read)."""

    def __init__(self, path: Path, read_only: bool = False, any_version: bool = False, still: bool = False) -> None:
        """`read_only`: open without writing anything (a library on a read-only mount or a full
        disk); the schema must be current then, since it cannot be migrated, unless `any_version`
        (only checking the file, e.g. a backup from an older release). `still`: see
        `open_read_only` (a backup)."""
        self.path = path
        self.read_only = read_only
        self._any_version = any_version
        self._lock = threading.RLock()
        try:
            if path.exists():
                with open(path, "rb"):  # SQLite says only "unable to open database file"
                    pass
            if read_only:
                self._db = open_read_only(path, still)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(os.fsencode(path), timeout=30, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
                raise CatalogDamaged(damage_message(path, exc)) from None
            raise CatalogError(f"cannot open catalog {path}: {exc}") from None
        except PermissionError:
            raise CatalogError(
                f"no permission to read the catalog {path}: it belongs to another user, or its mode was changed"
            ) from None
        except OSError as exc:
            raise CatalogError(f"cannot open catalog {path}: {exc.strerror or exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""
        with self._lock, self._damage_explained():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        """One query's rows, for the core's rooms that keep tables of their own (duplicates)."""
        return self._query(sql, args)

    def _query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        with self._lock, self._damage_explained():
            return self._db.execute(sql, args).fetchall()

    @contextmanager
    def _damage_explained(self) -> Iterator[None]:
        """SQLite's "database disk image is malformed" becomes a message that says what to do."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
                raise CatalogDamaged(damage_message(self.path, exc)) from None
            raise

    def check_integrity(self) -> str:
        """'ok', or what SQLite's quick check found wrong (reads every page: seconds on a big catalog)."""
        try:
            rows = self._query("PRAGMA quick_check")
        except CatalogDamaged as exc:
            return str(exc)
        if rows and rows[0][0] == "ok":
            return "ok"
        return " ".join("; ".join(str(r[0]) for r in rows[:3]).split())  # SQLite's rows hold line breaks

    def back_up(self, target: Path) -> bool:
        """Copy the catalog to `target` with SQLite's online backup, verified before it replaces
        the previous copy (a damaged catalog never overwrites a good backup)."""
        staged = target.with_name(target.name + ".tmp")
        staged.unlink(missing_ok=True)
        # its own connection: WAL lets it read beside the writer, so searches never wait for it
        source = sqlite3.connect(os.fsencode(self.path), timeout=30)
        copy = sqlite3.connect(os.fsencode(staged))
        try:
            source.backup(copy, pages=1024)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file: no log beside it
            sound = copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            sound = False
        finally:
            copy.close()
            source.close()
        if not sound:
            staged.unlink(missing_ok=True)
            return False
        with open(staged, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(staged, target)
        return True

    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CatalogError(
                    f"catalog {self.path} was written by a newer photosearch (schema {version} > {SCHEMA_VERSION})"
                )
            if self._any_version and self.read_only:
                return
            if version == 0 and self.read_only:  # a release's catalog always records its schema
                raise CatalogDamaged(
                    f"catalog {self.path} holds no schema (was its write-ahead log, {self.path.name}-wal, lost?): "
                    "run `photosearch repair` to restore it from its backup"
                )
            if version < SCHEMA_VERSION and self.read_only:
                raise CatalogError(
                    f"catalog {self.path} needs an upgrade, which a read-only library cannot take: "
                    "run `photosearch index` once where it is writable"
                )
            migrate(self._db, version)
            if version < 8:
                self._fill_stems()
                self._give_back_free_pages()

    def _give_back_free_pages(self) -> None:
        """Schema 8 copied the embeddings to a new table: the old one's pages are free but still
        the file's (a catalog of 100,000 photos doubled, 431 → 843 MB). VACUUM returns them
        (2.9 s there); without room for its copy, they are simply reused by later writes."""
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        if free * 4 < pages:
            return
        try:
            self._db.execute("VACUUM")
        except sqlite3.OperationalError as exc:  # a full disk: the pages stay free inside the file
            log.warning("could not give the catalog's free space back after its upgrade: %s", exc)

    def _fill_stems(self) -> None:
        """Schema 8 pairs files by name: the photos of a library from before it get their stems."""
        last = 0
        while True:
            rows = self._query("SELECT id, path FROM photos WHERE id>? ORDER BY id LIMIT 20000", (last,))
            if not rows:
                return
            last = int(rows[-1][0])
            with self.transaction() as db:
                db.executemany("UPDATE photos SET stem=? WHERE id=?", [(os.path.splitext(path)[0], i) for i, path in rows])

    # -- meta -----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value)
            )

    # -- excluded folders -----------------------------------------------------------------

    def excluded(self) -> frozenset[str]:
        """Folders inside library folders that the scans pass over (their photos are not in the library)."""
        raw = self.get_meta(EXCLUDED_KEY)
        try:
            paths = json.loads(raw) if raw else []
        except ValueError:
            return frozenset()
        return frozenset(str(p) for p in paths if isinstance(p, str))

    def set_excluded(self, paths: Iterable[str]) -> None:
        self.set_meta(EXCLUDED_KEY, json.dumps(sorted(set(paths))))

    # -- folders --------------------------------------------------------------------------

    def folders(self) -> list[Folder]:
        return [
            Folder(i, from_db(p), FolderState(s)) for i, p, s in self._query("SELECT id, path, state FROM folders ORDER BY path")
        ]

    def add_folder(self, path: str) -> Folder:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO folders(path, added_at) VALUES(?, ?)", (to_db(path), time.time()))
            row = db.execute("SELECT id, state FROM folders WHERE path=?", (to_db(path),)).fetchone()
        return Folder(row[0], path, FolderState(row[1]))

    def remove_folder(self, folder_id: int) -> int:
        """Forget a folder and everything indexed in it; returns the number of photos removed."""
        with self.transaction() as db:
            count = db.execute("SELECT COUNT(*) FROM photos WHERE folder_id=?", (folder_id,)).fetchone()[0]
            db.execute("DELETE FROM embeddings WHERE photo_id IN (SELECT id FROM photos WHERE folder_id=?)", (folder_id,))
            db.execute("DELETE FROM photos WHERE folder_id=?", (folder_id,))
            db.execute("DELETE FROM folders WHERE id=?", (folder_id,))
        return int(count)

    def has_photos(self, folder_id: int) -> bool:
        return bool(self._query("SELECT 1 FROM photos WHERE folder_id=? LIMIT 1", (folder_id,)))

    def folder_counts(self) -> dict[int, dict[str, int]]:
        """Photos per folder and status, in one pass over the status index."""
        counts: dict[int, dict[str, int]] = {}
        for folder_id, status, count in self._query("SELECT folder_id, status, COUNT(*) FROM photos GROUP BY folder_id, status"):
            counts.setdefault(int(folder_id), {})[str(status)] = int(count)
        return counts

    def set_folder_state(self, folder_id: int, state: FolderState) -> None:
        with self.transaction() as db:
            db.execute("UPDATE folders SET state=?, scanned_at=? WHERE id=?", (state, time.time(), folder_id))

    # -- photos ---------------------------------------------------------------------------

    def photos_in_folder(self, folder_id: int) -> dict[str, PhotoRow]:
        rows = self._query(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE folder_id=?",
            (folder_id,),
        )
        return {row.path: row for row in map(_photo_row, rows)}

    def photos_under(self, folder_id: int, path: str) -> dict[str, PhotoRow]:
        """A folder's photos at `path` or anywhere below it (a range scan on the path index)."""
        rows = self._query(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE folder_id=? AND (path=? OR (path>=? AND path<?))",
            (folder_id, to_db(path), *_below(path)),
        )
        return {row.path: row for row in map(_photo_row, rows)}

    def indexed_with_size(self, size: int) -> list[PhotoRow]:
        rows = self._query(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE size=? AND status='indexed' AND fingerprint IS NOT NULL", (size,)
        )
        return [_photo_row(row) for row in rows]

    def apply_scan(
        self,
        new: Iterable[NewPhoto],
        changed: Iterable[ChangedPhoto],
        moved: Iterable[MovedPhoto],
        gone: Iterable[int],
    ) -> None:
        """Record a scan's diff in one transaction: new photos and changed ones become pending,
        moved ones keep their row and embedding, gone ids are deleted with their embeddings."""
        now = time.time()
        with self.transaction() as db:
            gone_ids = [(pid,) for pid in gone]
            db.executemany("DELETE FROM embeddings WHERE photo_id=?", gone_ids)
            db.executemany("DELETE FROM photos WHERE id=?", gone_ids)
            moved = list(moved)
            new = list(new)
            stems = {
                stem for (stem,) in db.execute(f"SELECT stem FROM photos WHERE id IN ({_marks(moved)})", [m.id for m in moved])
            }
            stems.update(_stem(m.path) for m in moved)
            stems.update(_stem(n.path) for n in new)
            db.executemany(
                "UPDATE photos SET path=?, stem=?, size=?, mtime_ns=?, folder_id=?, updated_at=? WHERE id=?",
                [(to_db(m.path), _stem(m.path), m.size, m.mtime_ns, m.folder_id, now, m.id) for m in moved],
            )
            db.executemany(
                "UPDATE photos SET size=?, mtime_ns=?, skip_reason=NULL, thumbnail=0, updated_at=?,"
                f" status={_PENDING_UNLESS_JOINED} WHERE id=?",
                [(c.size, c.mtime_ns, now, c.id) for c in changed],
            )
            db.executemany(
                "INSERT INTO photos(folder_id, path, stem, kind, size, mtime_ns, status, updated_at)"
                " VALUES(?, ?, ?, ?, ?, ?, 'pending', ?)",
                [
                    (n.folder_id, to_db(n.path), _stem(n.path), kind_of_path(n.path) or "photo", n.size, n.mtime_ns, now)
                    for n in new
                ],
            )
            _pair(db, stems)

    def pending(self, after_id: int = 0, limit: int = 1_000_000, videos: bool | None = None) -> list[PendingPhoto]:
        """Pending photos in id order, from after `after_id` (the pipeline pages through them);
        `videos`: only videos (True) or only stills (False; they go first)."""
        kind = "" if videos is None else (" AND kind='video'" if videos else " AND kind!='video'")
        rows = self._query(
            f"SELECT id, path, size, mtime_ns FROM photos WHERE status='pending' AND id>?{kind} ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [PendingPhoto(i, from_db(p), size, mtime) for i, p, size, mtime in rows]

    def commit_results(self, model: str, embedded: Sequence[Embedded], skipped: Sequence[Skip], graph: str = "exact") -> None:
        """Store a batch's vectors (made by the image `graph`: exact or int8) and skips atomically.

        A photo that changed or vanished since it was queued (its row no longer pending with the
        same size and mtime) is left alone: its result is stale and the pending row is picked
        up again.
        """
        now = time.time()
        still = "id=? AND status='pending' AND size=? AND mtime_ns=?"
        with self.transaction() as db:
            for item in embedded:
                photo = item.photo
                cur = db.execute(
                    "UPDATE photos SET status='indexed', skip_reason=NULL, fingerprint=?, width=?, height=?, taken=?,"
                    f" thumbnail=?, look=?, updated_at=? WHERE {still}",
                    (
                        item.fingerprint,
                        item.width,
                        item.height,
                        item.taken,
                        int(item.thumbnail),
                        looks_to_db(item.look),
                        now,
                        photo.id,
                        photo.size,
                        photo.mtime_ns,
                    ),
                )
                if cur.rowcount == 0:
                    continue
                # a photo embedded again is grouped again (its new vector is past every model's progress)
                db.execute("DELETE FROM duplicate_pairs WHERE a=? OR b=?", (photo.id, photo.id))
                db.execute("DELETE FROM embeddings WHERE photo_id=? AND model=?", (photo.id, model))
                vectors = np.ascontiguousarray(item.vector, dtype=np.float32).reshape(-1, item.vector.shape[-1])
                times = [-1] * len(vectors) if item.frames is None else [frame_ms(t) for t in item.frames]
                db.executemany(
                    "INSERT INTO embeddings(photo_id, model, vector, size, mtime_ns, graph, at_ms) VALUES(?, ?, ?, ?, ?, ?, ?)",
                    [
                        (photo.id, model, v.tobytes(), photo.size, photo.mtime_ns, graph, t)
                        for v, t in zip(vectors, times, strict=True)
                    ],
                )
                if item.duration is not None:
                    db.execute("UPDATE photos SET duration=? WHERE id=?", (item.duration, photo.id))
            for skip in skipped:
                photo = skip.photo
                cur = db.execute(
                    f"UPDATE photos SET status='skipped', skip_reason=?, skip_retry=?, updated_at=? WHERE {still}",
                    (skip.reason, int(skip.retry), now, photo.id, photo.size, photo.mtime_ns),
                )
                if cur.rowcount:  # the old vector of a photo that became unreadable is stale
                    db.execute("DELETE FROM embeddings WHERE photo_id=? AND model=?", (photo.id, model))

    def queue_for_model(self, model: str, exact_only: bool = False) -> None:
        """Make the photos' status speak for `model`: an indexed photo without a vector for it is
        pending, and a pending photo that has one made from the file as it is now is indexed.
        `exact_only`: a vector the int8 graph made does not count (the library is told to be
        exact: those photos are embedded again)."""
        usable = "AND e.graph='exact'" if exact_only else ""
        with self.transaction() as db:
            # a vector from before schema 3 (no size recorded) still counts, as it always did
            db.execute(
                "UPDATE photos SET status='pending' WHERE status='indexed' AND NOT (kind='raw' AND primary_id IS NOT NULL)"
                " AND NOT EXISTS "
                f"(SELECT 1 FROM embeddings e WHERE e.photo_id=photos.id AND e.model=? {usable}"
                " AND (e.size IS NULL OR (e.size=photos.size AND e.mtime_ns=photos.mtime_ns)))",
                (model,),
            )
            db.execute(
                "UPDATE photos SET status='indexed', skip_reason=NULL WHERE status='pending' AND EXISTS "
                f"(SELECT 1 FROM embeddings e WHERE e.photo_id=photos.id AND e.model=? {usable}"
                " AND e.size=photos.size AND e.mtime_ns=photos.mtime_ns)",
                (model,),
            )

    def vectors_by_graph(self, model: str) -> dict[str, int]:
        """How many of `model`'s vectors each image graph made (reads every vector's row: for
        tests and checks; status counts the int8 ones alone, through their own index)."""
        rows = self._query("SELECT graph, COUNT(*) FROM embeddings WHERE model=? GROUP BY graph", (model,))
        return {str(graph): int(count) for graph, count in rows}

    def int8_vectors(self, model: str) -> int:
        return int(self._query("SELECT COUNT(*) FROM embeddings WHERE model=? AND graph='int8'", (model,))[0][0])

    # -- the user's text queries ----------------------------------------------------------

    def keep_text_queries(self, model: str, vectors: np.ndarray, keep: int) -> None:
        """Remember the vectors of text queries just searched (a repeat only moves to the
        front); only the newest `keep` of a model stay."""
        now = time.time()
        rows = [
            (model, hashlib.blake2b(v.tobytes(), digest_size=12).hexdigest(), v.astype(np.float32).tobytes(), now + i * 1e-6)
            for i, v in enumerate(vectors)
        ]
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO text_queries(model, digest, vector, asked_at) VALUES(?, ?, ?, ?) "
                "ON CONFLICT(model, digest) DO UPDATE SET asked_at=excluded.asked_at",
                rows,
            )
            db.execute(
                "DELETE FROM text_queries WHERE model=? AND digest NOT IN "
                "(SELECT digest FROM text_queries WHERE model=? ORDER BY asked_at DESC LIMIT ?)",
                (model, model, keep),
            )

    def text_query_count(self, model: str) -> int:
        return int(self._query("SELECT COUNT(*) FROM text_queries WHERE model=?", (model,))[0][0])

    def text_queries(self, model: str, dim: int) -> np.ndarray:
        """The kept text-query vectors of `model`, newest first (a row of the wrong length is left out)."""
        rows = self._query("SELECT vector FROM text_queries WHERE model=? ORDER BY asked_at DESC", (model,))
        vectors = [np.frombuffer(blob, dtype=np.float32) for (blob,) in rows if len(blob) == 4 * dim]
        return np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)

    def retry_outside_skips(self) -> int:
        """Skips caused outside the file (permissions, I/O) become pending again; returns how many."""
        with self.transaction() as db:
            cur = db.execute("UPDATE photos SET status='pending', skip_retry=0 WHERE status='skipped' AND skip_retry=1")
        return cur.rowcount

    def counts(self) -> dict[str, int]:
        counts = {"indexed": 0, "skipped": 0, "pending": 0}
        for status, count in self._query("SELECT status, COUNT(*) FROM photos GROUP BY status"):
            counts[str(status)] = int(count)
        return counts

    def kind_counts(self) -> dict[str, dict[str, int]]:
        """Files per kind and status ("photo", "raw", "video" → indexed/skipped/pending): RAW
        files and videos counted through their own index, photos as what is left of the totals
        (status stays instant at a million photos)."""
        counts: dict[str, dict[str, int]] = {kind: {"indexed": 0, "skipped": 0, "pending": 0} for kind in MEDIA_KINDS}
        counts["photo"] = self.counts()
        for kind, status, count in self._query(
            "SELECT kind, status, COUNT(*) FROM photos WHERE kind != 'photo' GROUP BY kind, status"
        ):
            counts.setdefault(str(kind), {})[str(status)] = int(count)
            counts["photo"][str(status)] -= int(count)
        return counts

    def pending_count(self) -> int:
        """Uses the status index: cheap enough for every progress report of a big library."""
        return int(self._query("SELECT COUNT(*) FROM photos WHERE status='pending'")[0][0])

    def skipped(self, limit: int = 1000) -> list[tuple[str, str]]:
        return [
            (from_db(p), str(r))
            for p, r in self._query("SELECT path, skip_reason FROM photos WHERE status='skipped' ORDER BY path LIMIT ?", (limit,))
        ]

    def indexed_paths(self) -> list[str]:
        return [from_db(p) for (p,) in self._query("SELECT path FROM photos WHERE status='indexed' ORDER BY path")]

    # -- thumbnails -----------------------------------------------------------------------

    def without_thumbnails(self, limit: int) -> list[PendingPhoto]:
        """Indexed photos that have no thumbnail yet (made in the background); a RAW or a clip
        beside its photo needs none (the photo's is shown)."""
        rows = self._query(
            "SELECT id, path, size, mtime_ns FROM photos WHERE status='indexed' AND thumbnail=0 AND primary_id IS NULL"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [PendingPhoto(i, from_db(p), size, mtime) for i, p, size, mtime in rows]

    def thumbnails_made(self, photos: Iterable[PendingPhoto]) -> None:
        """These photos' thumbnails were written, for the version of each photo named."""
        with self.transaction() as db:
            db.executemany(
                "UPDATE photos SET thumbnail=1 WHERE id=? AND size=? AND mtime_ns=?",
                [(p.id, p.size, p.mtime_ns) for p in photos],
            )

    def thumbnails_wanted(self, photo_ids: Iterable[int]) -> None:
        """These photos' thumbnails must be made again (the window found the files missing)."""
        with self.transaction() as db:
            db.executemany("UPDATE photos SET thumbnail=0 WHERE id=?", [(int(i),) for i in photo_ids])

    def dropped_photos(self, limit: int = 10_000) -> list[int]:
        """Ids of deleted photos whose thumbnails may still be on disk."""
        return [int(r[0]) for r in self._query("SELECT id FROM dropped_photos LIMIT ?", (limit,))]

    def forget_dropped(self, ids: Sequence[int]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM dropped_photos WHERE id=?", [(int(i),) for i in ids])

    # -- embeddings -----------------------------------------------------------------------

    def hit_details(self, labels: Sequence[int]) -> dict[int, HitRow]:
        """label → HitRow for a search's labels. `taken` is wall-clock seconds (see
        records.SearchHit): the EXIF time, else the file's local mtime. A label of a file that
        belongs to another's item (a Live Photo's clip) names that item; a video's names its
        frame's time. Sorted lookups in large chunks: 100,000 labels take about a third of a second."""
        out: dict[int, HitRow] = {}
        ordered = sorted(int(x) for x in labels)
        joined = self._has_joined_files()  # else each vector's file is its own item: one join fewer
        for start in range(0, len(ordered), 5000):
            chunk = ordered[start : start + 5000]
            rows = self._query(
                f"SELECT e.id, p.id, p.path, CAST(strftime('%s', {_TAKEN}) AS REAL), p.width, p.height, p.size, p.kind,"
                f" CASE WHEN e.at_ms >= 0 {'AND f.id = p.id' if joined else ''} THEN e.at_ms END, p.duration"
                f" FROM embeddings e {_ITEM_OF_VECTOR if joined else _OWN_ITEM} WHERE e.id IN ({_marks(chunk)})",
                chunk,
            )
            others = self._companions({int(row[1]) for row in rows}) if joined else {}
            alone = ()
            for label, photo, path, taken, width, height, size, kind, at_ms, duration in rows:  # SQLite's ints are ints
                out[label] = (
                    photo,
                    from_db(path),
                    taken,
                    width or 0,
                    height or 0,
                    size or 0,
                    kind,
                    None if at_ms is None else at_ms / 1000,
                    duration if kind == "video" else None,
                    others.get(photo, alone),
                )
        return out

    def _has_joined_files(self) -> bool:
        """Whether any file belongs to another's item (through the partial index: instant)."""
        return bool(self._query("SELECT 1 FROM photos WHERE primary_id IS NOT NULL LIMIT 1"))

    def _companions(self, ids: set[int]) -> dict[int, tuple[str, ...]]:
        """The other files of these items (RAW files beside their photo, Live Photo clips)."""
        found: dict[int, list[str]] = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), 5000):
            chunk = ordered[start : start + 5000]
            for primary, path in self._query(
                f"SELECT primary_id, path FROM photos WHERE primary_id IN ({_marks(chunk)}) ORDER BY path", chunk
            ):
                found.setdefault(int(primary), []).append(from_db(path))
        return {key: tuple(paths) for key, paths in found.items()}

    def labels_where(
        self,
        model: str,
        folders: Sequence[str] = (),
        after: str | None = None,
        before: str | None = None,
        kinds: Sequence[str] = (),
    ) -> np.ndarray:
        """The labels of `model`'s vectors whose photos lie in one of `folders` (at any depth),
        taken at or after `after` and before `before` ("YYYY-MM-DD HH:MM:SS", local time), of
        the `kinds` named (see records.SearchFilter). A clip that is part of a Live Photo is
        filtered as its photo is (the date, the kind, the folder of the photo)."""
        where, args = ["e.model = ?"], [model]
        if kinds and set(kinds) != set(MEDIA_KINDS):
            where.append("(" + " OR ".join(_KIND_TESTS[k] for k in kinds if k in _KIND_TESTS) + ")")
        if folders:
            where.append("(" + " OR ".join("(p.path >= ? AND p.path < ?)" for _ in folders) + ")")
            args += [bound for folder in folders for bound in _below(folder)]
        if after is not None:
            where.append(f"{_TAKEN} >= ?")
            args.append(after)
        if before is not None:
            where.append(f"{_TAKEN} < ?")
            args.append(before)
        join = _ITEM_OF_VECTOR if self._has_joined_files() else _OWN_ITEM
        rows = self._query(f"SELECT e.id FROM embeddings e {join} WHERE {' AND '.join(where)}", args)
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vector_for_path(self, model: str, path: str) -> np.ndarray | None:
        """A file's vector; a video's is the mean direction of its frames'."""
        rows = self._query(
            "SELECT e.vector FROM embeddings e JOIN photos p ON p.id=e.photo_id WHERE p.path=? AND e.model=?",
            (to_db(path), model),
        )
        blobs = [row[0] for row in rows]
        if not blobs or any(not isinstance(b, bytes) or len(b) % 4 or len(b) != len(blobs[0]) for b in blobs):
            return None  # none, or damaged: the caller embeds the photo instead
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
        mean = vectors.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return (mean / norm).astype(np.float32) if len(blobs) > 1 and norm > 0 else mean.copy()

    def requeue_embeddings(self, labels: Sequence[int]) -> int:
        """Drop these vectors and queue their photos to be embedded again; returns how many photos."""
        photos = 0
        with self.transaction() as db:
            for start in range(0, len(labels), 500):
                part = [int(x) for x in labels[start : start + 500]]
                marks = ",".join("?" * len(part))
                ids = [row[0] for row in db.execute(f"SELECT photo_id FROM embeddings WHERE id IN ({marks})", part)]
                db.execute(f"DELETE FROM embeddings WHERE id IN ({marks})", part)
                id_marks = ",".join("?" * len(ids))
                if ids:
                    photos += db.execute(
                        f"UPDATE photos SET status='pending' WHERE status='indexed' AND id IN ({id_marks})", ids
                    ).rowcount
        return photos

    def embedding_labels(self, model: str) -> np.ndarray:
        """Every label (embedding id) of a model, without reading the vectors."""
        rows = self._query("SELECT id FROM embeddings WHERE model=? ORDER BY id", (model,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def embedding_count(self, model: str) -> int:
        return int(self._query("SELECT COUNT(*) FROM embeddings WHERE model=?", (model,))[0][0])

    def iter_embeddings(
        self, model: str, dim: int, labels: Sequence[int] | None = None, chunk: int = 20000, damaged: list[int] | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(labels int64, vectors float32) in chunks: all of a model's vectors, or the given labels.

        A stored vector of the wrong length or with a non-finite value is left out, its label
        added to `damaged`: one bad row must never stop a whole library."""
        if labels is not None:
            for start in range(0, len(labels), 500):
                part = [int(x) for x in labels[start : start + 500]]
                marks = ",".join("?" * len(part))
                rows = self._query(f"SELECT id, vector FROM embeddings WHERE model=? AND id IN ({marks})", [model, *part])
                if rows:
                    yield _unpack(rows, dim, damaged)
            return
        last = 0
        while True:
            rows = self._query(
                "SELECT id, vector FROM embeddings WHERE model=? AND id>? ORDER BY id LIMIT ?", (model, last, chunk)
            )
            if not rows:
                return
            last = int(rows[-1][0])
            yield _unpack(rows, dim, damaged)

    def changes_since(self, model: str, seq: int) -> list[tuple[int, int, str]]:
        return [
            (int(s), int(label), str(op))
            for s, label, op in self._query(
                "SELECT seq, label, op FROM changes WHERE model=? AND seq>? ORDER BY seq", (model, seq)
            )
        ]

    def last_change(self) -> int:
        """The newest change sequence number ever issued (survives trimming of the log)."""
        rows = self._query("SELECT seq FROM sqlite_sequence WHERE name='changes'")
        return int(rows[0][0]) if rows else 0

    def trim_changes(self, model: str, upto_seq: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM changes WHERE model=? AND seq<=?", (model, upto_seq))

    # -- index state ----------------------------------------------------------------------

    def index_state(self, model: str) -> IndexState | None:
        rows = self._query(
            "SELECT model, file, size, sha256, dim, applied_seq, vectors, deleted FROM index_state WHERE model=?", (model,)
        )
        return IndexState(*rows[0]) if rows else None

    def set_index_state(self, state: IndexState) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO index_state(model, file, size, sha256, dim, applied_seq, vectors, deleted, saved_at)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    state.model,
                    state.file,
                    state.size,
                    state.sha256,
                    state.dim,
                    state.applied_seq,
                    state.vectors,
                    state.deleted,
                    time.time(),
                ),
            )


# a vector's file (f) and the item it stands for (p): itself, or the photo it belongs to; in a
# library where no file belongs to another's, the file is the item
_ITEM_OF_VECTOR = "JOIN photos f ON f.id = e.photo_id JOIN photos p ON p.id = COALESCE(f.primary_id, f.id)"
_OWN_ITEM = "JOIN photos p ON p.id = e.photo_id"

# a changed file is embedded again, unless it is a RAW whose developed photo stands for it
_PENDING_UNLESS_JOINED = "CASE WHEN kind = 'raw' AND primary_id IS NOT NULL THEN 'indexed' ELSE 'pending' END"

# how each kind of item is told apart (p: the item's own row; see records.SearchFilter)
_KIND_TESTS = {
    "photo": "p.kind = 'photo'",
    "raw": "(p.kind = 'raw' OR EXISTS (SELECT 1 FROM photos r WHERE r.primary_id = p.id AND r.kind = 'raw'))",
    "video": "p.kind = 'video'",
}


def _marks(items: Sequence[object]) -> str:
    return ",".join("?" * len(items))


def _stem(path: str) -> str:
    """A file's path without its suffix: files of one item share it (IMG_1.HEIC, IMG_1.MOV)."""
    return os.path.splitext(to_db(path))[0]


def _pair(db: sqlite3.Connection, stems: set[str]) -> None:
    """RAW files and clips beside a photo of the same name join its item (within the scan's
    transaction). A RAW that joins is not embedded (its developed photo is what is shown and
    searched); one whose photo went is embedded itself. A Live Photo's clip keeps its frames'
    vectors: they find the photo."""
    ordered = sorted(stems)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        rows = db.execute(f"SELECT id, kind, stem, primary_id FROM photos WHERE stem IN ({_marks(chunk)})", chunk).fetchall()
        photos: dict[str, int] = {}
        for photo_id, kind, stem, _ in rows:
            if kind == "photo":
                photos[stem] = min(photos.get(stem, photo_id), photo_id)
        for photo_id, kind, stem, primary in rows:
            if kind == "photo" or photos.get(stem) == primary:
                continue
            joins = photos.get(stem)
            db.execute("UPDATE photos SET primary_id=? WHERE id=?", (joins, photo_id))
            if kind != "raw":
                continue
            if joins is not None:  # nothing of its own to index: its photo stands for it
                db.execute("DELETE FROM embeddings WHERE photo_id=?", (photo_id,))
                db.execute("DELETE FROM duplicate_pairs WHERE a=? OR b=?", (photo_id, photo_id))
                db.execute("UPDATE photos SET status='indexed', skip_reason=NULL WHERE id=?", (photo_id,))
            else:
                db.execute("UPDATE photos SET status='pending', thumbnail=0 WHERE id=?", (photo_id,))


def schema_version(path: Path, still: bool = False) -> int:
    """The schema version the catalog file at `path` records, read without writing anything."""
    try:
        db = open_read_only(path, still)
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
            raise CatalogDamaged(damage_message(path, exc)) from None
        raise CatalogError(f"cannot open catalog {path}: {exc}") from None
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise CatalogDamaged(damage_message(path, exc)) from None
    finally:
        db.close()


def holds_no_schema(path: Path) -> bool:
    """Whether the catalog file is missing, empty or SQLite's header alone: nothing was ever
    written to it, or it was emptied. (Read without writing: the write-ahead log is read too.)"""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if size == 0:
        return True
    if size > 64 * 1024:  # a catalog without a schema is a page or two (its log may hold more: read below)
        return False
    try:
        db = open_read_only(path)
    except (sqlite3.Error, CatalogError):
        return False  # unreadable is not empty: the damage check says what it is
    try:
        tables = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        return tables == 0 and version == 0
    except sqlite3.Error:
        return False
    finally:
        db.close()


def open_read_only(path: Path, still: bool = False) -> sqlite3.Connection:
    """A connection that writes nothing. SQLite's read-only mode still creates the WAL index
    beside the file; where even that is impossible (a read-only mount, a full disk) the file is
    opened as immutable: no locks, which is right for a library nothing can write to either.
    `still`: a file that nothing writes in place (a backup, replaced whole when renewed), opened
    as immutable at once, so reading it leaves no -wal and -shm files beside it."""
    if not path.is_file():
        raise CatalogError(f"no catalog at {path}")
    uri = "file:" + urllib.parse.quote(os.fsencode(path.resolve()))
    last: sqlite3.Error | None = None
    for options in ("?mode=ro&immutable=1",) if still else ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(uri + options, uri=True, timeout=30, check_same_thread=False, isolation_level=None)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.Error as exc:
            last = exc
    assert last is not None
    raise last


def _unpack(rows: list[tuple], dim: int, damaged: list[int] | None) -> tuple[np.ndarray, np.ndarray]:
    size = dim * 4
    whole = [row for row in rows if isinstance(row[1], bytes) and len(row[1]) == size]
    if damaged is not None and len(whole) < len(rows):
        damaged.extend(int(row[0]) for row in rows if not (isinstance(row[1], bytes) and len(row[1]) == size))
    labels = np.fromiter((int(r[0]) for r in whole), dtype=np.int64, count=len(whole))
    vectors = np.frombuffer(b"".join(r[1] for r in whole), dtype=np.float32).reshape(len(whole), dim)
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        if damaged is not None:
            damaged.extend(labels[~finite].tolist())
        labels, vectors = labels[finite], vectors[finite]
    return labels, vectors
