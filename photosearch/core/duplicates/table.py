"""The catalog's duplicate tables (schema 7): candidate pairs with their measures, how far
grouping has come per model, the pairs the user said are not duplicates, and photos' looks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..catalog import Catalog
from ..look import from_db as look_from_db
from ..look import to_db as look_to_db
from ..path_text import from_db
from .kinds import MeasuredPairs, Measures

BATCH = 500  # ids per IN (...) list
# `taken` as seconds on the camera's clock, EXIF's only (only differences between two mean anything)
FACTS = (
    "SELECT p.id, e.id, p.path, p.size, p.fingerprint, p.look, CAST(strftime('%s', p.taken) AS REAL)"
    " FROM embeddings e JOIN photos p ON p.id = e.photo_id AND e.at_ms < 0"
)  # stills only: a video's frames are not grouped (at_ms, schema 8)


@dataclass(frozen=True)
class PhotoFacts:
    """What judging a pair needs to know about one photo."""

    photo_id: int
    label: int  # its vector's id in the graph
    path: str
    size: int
    fingerprint: str | None
    look: int | None
    taken: float | None  # EXIF capture time, seconds (on the camera's clock)


@dataclass(frozen=True)
class Pair:
    a: int  # photo ids, a < b
    b: int
    measures: Measures


class DuplicateTable:
    def __init__(self, catalog: Catalog, model: str) -> None:
        self.catalog, self.model = catalog, model

    # -- progress -------------------------------------------------------------------------

    def progress(self) -> int:
        """The last vector (embedding id) grouped for this model: later ones still wait."""
        rows = self.catalog.read("SELECT last_embedding FROM duplicates_progress WHERE model=?", (self.model,))
        return int(rows[0][0]) if rows else 0

    def waiting(self) -> int:
        """How many of the model's vectors are not grouped yet."""
        return int(
            self.catalog.read(
                "SELECT COUNT(*) FROM embeddings WHERE model=? AND id>? AND at_ms < 0", (self.model, self.progress())
            )[0][0]
        )

    def ungrouped(self, limit: int) -> list[tuple[int, int, np.ndarray]]:
        """(label, photo id, vector) of the next vectors to group, oldest first."""
        rows = self.catalog.read(
            "SELECT id, photo_id, vector FROM embeddings WHERE model=? AND id>? AND at_ms < 0 ORDER BY id LIMIT ?",
            (self.model, self.progress(), limit),
        )
        return [(int(label), int(photo), np.frombuffer(blob, dtype=np.float32)) for label, photo, blob in rows]

    # -- facts ----------------------------------------------------------------------------

    def facts_by_fingerprint(self, fingerprint: str, limit: int) -> list[PhotoFacts]:
        """Up to `limit` photos with this fingerprint, the earliest first (a newcomer joins a
        group of copies through any one of them: a thousand copies cost what ten do)."""
        return self._rows(f"{FACTS} WHERE e.model=? AND p.fingerprint=? ORDER BY p.id LIMIT ?", [self.model, fingerprint, limit])

    def facts_by_label(self, labels: Iterable[int]) -> dict[int, PhotoFacts]:
        keys = sorted({int(x) for x in labels})
        found: dict[int, PhotoFacts] = {}
        for start in range(0, len(keys), BATCH):
            part = keys[start : start + BATCH]
            rows = self._rows(f"{FACTS} WHERE e.model=? AND e.id IN ({','.join('?' * len(part))})", [self.model, *part])
            found.update((fact.label, fact) for fact in rows)
        return found

    def _rows(self, sql: str, args: Sequence[object]) -> list[PhotoFacts]:
        return [
            PhotoFacts(int(photo), int(label), from_db(path), int(size), print_, look_from_db(look), taken)
            for photo, label, path, size, print_, look, taken in self.catalog.read(sql, args)
        ]

    # -- pairs ----------------------------------------------------------------------------

    def record(self, pairs: Iterable[Pair], looks: dict[int, int], grouped_up_to: int) -> None:
        """In one transaction: the looks found for photos that had none, the pairs found (a
        photo embedded again lost its earlier ones in the catalog's commit) and the progress."""
        with self.catalog.transaction() as db:
            db.executemany("UPDATE photos SET look=? WHERE id=? AND look IS NULL", [(look_to_db(v), k) for k, v in looks.items()])
            db.executemany(
                "INSERT OR REPLACE INTO duplicate_pairs(a, b, model, same_bytes, cosine, look_distance, seconds_apart)"
                " SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id=?)"
                " AND EXISTS (SELECT 1 FROM photos WHERE id=?)",
                [
                    (
                        p.a,
                        p.b,
                        self.model,
                        int(p.measures.same_bytes),
                        p.measures.cosine,
                        p.measures.look_distance,
                        p.measures.seconds_apart,
                        p.a,
                        p.b,
                    )
                    for p in pairs
                ],
            )
            db.execute(
                "INSERT INTO duplicates_progress(model, last_embedding) VALUES(?, ?)"
                " ON CONFLICT(model) DO UPDATE SET last_embedding=MAX(last_embedding, excluded.last_embedding)",
                (self.model, grouped_up_to),
            )

    def pairs(self) -> tuple[np.ndarray, np.ndarray, MeasuredPairs]:
        """Every candidate pair of this model, less those the user said are not duplicates, as
        columns: (a, b, their measures)."""
        rows = self.catalog.read(
            "SELECT d.a, d.b, d.same_bytes, d.cosine, d.look_distance, d.seconds_apart FROM duplicate_pairs d"
            " WHERE d.model=? AND NOT EXISTS (SELECT 1 FROM not_duplicates n WHERE n.a=d.a AND n.b=d.b)",
            (self.model,),
        )
        columns = np.array(rows, dtype=np.float64).reshape(-1, 6)  # NULL reads as NaN
        measured = MeasuredPairs(
            columns[:, 2] != 0, columns[:, 3].astype(np.float32), columns[:, 4].astype(np.float32), columns[:, 5]
        )
        return columns[:, 0].astype(np.int64), columns[:, 1].astype(np.int64), measured

    def not_duplicates(self, photo_ids: Sequence[int]) -> None:
        """The user said these photos are not duplicates of each other: remembered for good."""
        ids = sorted({int(i) for i in photo_ids})
        with self.catalog.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO not_duplicates(a, b) VALUES(?, ?)",
                [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]],
            )
