"""The catalog's schema, as the migrations that build it one version at a time.

Every catalog, new or years old, reaches the current schema the same way: by running each
migration after the version it records (SQLite's `user_version`). A migration is never edited
once released; a change is a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE folders (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL DEFAULT 'online' CHECK (state IN ('online', 'offline')),
        added_at REAL NOT NULL,
        scanned_at REAL
    );
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        fingerprint TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'indexed', 'skipped')),
        skip_reason TEXT,
        taken TEXT,
        width INTEGER,
        height INTEGER,
        updated_at REAL NOT NULL
    );
    CREATE INDEX photos_folder ON photos(folder_id);
    CREATE INDEX photos_status ON photos(status);
    CREATE INDEX photos_fingerprint ON photos(fingerprint);
    CREATE TABLE embeddings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        UNIQUE (photo_id, model)
    );
    CREATE INDEX embeddings_model ON embeddings(model, id);
    CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        label INTEGER NOT NULL,
        op TEXT NOT NULL CHECK (op IN ('add', 'remove'))
    );
    CREATE INDEX changes_model ON changes(model, seq);
    CREATE TRIGGER embedding_added AFTER INSERT ON embeddings BEGIN
        INSERT INTO changes (model, label, op) VALUES (NEW.model, NEW.id, 'add');
    END;
    CREATE TRIGGER embedding_removed AFTER DELETE ON embeddings BEGIN
        INSERT INTO changes (model, label, op) VALUES (OLD.model, OLD.id, 'remove');
    END;
    CREATE TABLE index_state (
        model TEXT PRIMARY KEY,
        file TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        dim INTEGER NOT NULL,
        applied_seq INTEGER NOT NULL,
        vectors INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        saved_at REAL NOT NULL
    );
    """,
    2: """
    -- finding where a photo went when its move is seen as two events (watcher): by size first
    CREATE INDEX photos_size ON photos(size);
    """,
    3: """
    -- which version of the file (size, mtime) each vector was made from: switching back to a
    -- model re-uses its vectors of unchanged photos instead of embedding them again
    ALTER TABLE embeddings ADD COLUMN size INTEGER;
    ALTER TABLE embeddings ADD COLUMN mtime_ns INTEGER;
    UPDATE embeddings SET
        size = (SELECT p.size FROM photos p WHERE p.id = embeddings.photo_id AND p.status = 'indexed'),
        mtime_ns = (SELECT p.mtime_ns FROM photos p WHERE p.id = embeddings.photo_id AND p.status = 'indexed')
        WHERE model = (SELECT value FROM meta WHERE key = 'model');
    -- a skip whose cause lies outside the file (permissions, I/O) is retried at the next scan
    ALTER TABLE photos ADD COLUMN skip_retry INTEGER NOT NULL DEFAULT 0;
    """,
    4: """
    -- thumbnails: whether one was written for the photo as it is now; the ids of deleted photos
    -- wait in dropped_photos (written in the deleting transaction) until their files are removed
    ALTER TABLE photos ADD COLUMN thumbnail INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX photos_thumbnail ON photos(status, thumbnail);
    CREATE TABLE dropped_photos (id INTEGER PRIMARY KEY);
    CREATE TRIGGER photo_dropped AFTER DELETE ON photos BEGIN
        INSERT OR IGNORE INTO dropped_photos (id) VALUES (OLD.id);
    END;
    """,
    5: """
    -- which image graph made each vector: the exact one, or int8 where it proved to agree (or
    -- was asked for); a library told to be exact makes its int8 vectors again
    ALTER TABLE embeddings ADD COLUMN graph TEXT NOT NULL DEFAULT 'exact';
    CREATE INDEX embeddings_int8 ON embeddings(model) WHERE graph = 'int8';
    """,
    6: """
    -- the vectors of the text queries the user searched lately, per model (not their words): a
    -- sample of real queries for measuring the search breadth, kept across restarts
    CREATE TABLE text_queries (
        model TEXT NOT NULL,
        digest TEXT NOT NULL,
        vector BLOB NOT NULL,
        asked_at REAL NOT NULL,
        PRIMARY KEY (model, digest)
    );
    """,
    7: """
    -- duplicates (core/duplicates): each photo's look (a perceptual hash of its thumbnail), the
    -- candidate pairs the graph found with what was measured on them (their kind is decided
    -- when read, at the strictness asked for), how far grouping has come per model, and the
    -- pairs the user said are not duplicates
    ALTER TABLE photos ADD COLUMN look INTEGER;
    CREATE TABLE duplicate_pairs (
        a INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        same_bytes INTEGER NOT NULL,
        cosine REAL NOT NULL,
        look_distance INTEGER,
        seconds_apart REAL,
        PRIMARY KEY (a, b, model),
        CHECK (a < b)
    );
    CREATE INDEX duplicate_pairs_b ON duplicate_pairs(b);
    CREATE INDEX duplicate_pairs_model ON duplicate_pairs(model);
    CREATE TABLE not_duplicates (
        a INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        PRIMARY KEY (a, b),
        CHECK (a < b)
    );
    CREATE INDEX not_duplicates_b ON not_duplicates(b);
    CREATE TABLE duplicates_progress (model TEXT PRIMARY KEY, last_embedding INTEGER NOT NULL);
    -- bumped by every change to the pairs or the answers: what was grouped from them is still
    -- true while it stands
    CREATE TABLE duplicates_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL);
    INSERT INTO duplicates_version VALUES (1, 0);
    CREATE TRIGGER duplicate_pair_added AFTER INSERT ON duplicate_pairs BEGIN
        UPDATE duplicates_version SET version = version + 1;
    END;
    CREATE TRIGGER duplicate_pair_removed AFTER DELETE ON duplicate_pairs BEGIN
        UPDATE duplicates_version SET version = version + 1;
    END;
    CREATE TRIGGER not_duplicates_added AFTER INSERT ON not_duplicates BEGIN
        UPDATE duplicates_version SET version = version + 1;
    END;
    """,
    8: """
    -- RAW files and videos (core/raw.py, core/video.py). Each file's kind, its name without the
    -- suffix (a RAW or a clip beside a developed photo of the same name is one item with it:
    -- `primary_id` names that photo), a video's length; a video has one vector per kept frame,
    -- keyed by the frame's time (`at_ms`; -1 for a still). SQLite cannot drop the old
    -- UNIQUE (photo_id, model), so the embeddings move to a new table, keeping their ids (the
    -- index's labels) and the id sequence (a label is never issued twice).
    ALTER TABLE photos ADD COLUMN kind TEXT NOT NULL DEFAULT 'photo';
    ALTER TABLE photos ADD COLUMN stem TEXT;
    ALTER TABLE photos ADD COLUMN primary_id INTEGER;
    ALTER TABLE photos ADD COLUMN duration REAL;
    CREATE INDEX photos_stem ON photos(stem) WHERE stem IS NOT NULL;
    CREATE INDEX photos_primary ON photos(primary_id) WHERE primary_id IS NOT NULL;
    CREATE INDEX photos_kind ON photos(kind) WHERE kind != 'photo';
    -- the photo a RAW was developed into went away: the RAW is embedded itself
    CREATE TRIGGER photo_primary_gone AFTER DELETE ON photos BEGIN
        UPDATE photos SET primary_id = NULL, status = CASE WHEN kind = 'raw' THEN 'pending' ELSE status END,
            thumbnail = CASE WHEN kind = 'raw' THEN 0 ELSE thumbnail END
        WHERE primary_id = OLD.id;
    END;
    CREATE TABLE frame_sequence_keep (seq INTEGER);
    INSERT INTO frame_sequence_keep SELECT seq FROM sqlite_sequence WHERE name = 'embeddings';
    CREATE TABLE embeddings_v8 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        size INTEGER,
        mtime_ns INTEGER,
        graph TEXT NOT NULL DEFAULT 'exact',
        at_ms INTEGER NOT NULL DEFAULT -1,
        UNIQUE (photo_id, model, at_ms)
    );
    INSERT INTO embeddings_v8 (id, photo_id, model, vector, size, mtime_ns, graph)
        SELECT id, photo_id, model, vector, size, mtime_ns, graph FROM embeddings ORDER BY id;
    DROP TABLE embeddings;
    ALTER TABLE embeddings_v8 RENAME TO embeddings;
    UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM frame_sequence_keep), 0)) WHERE name = 'embeddings';
    DROP TABLE frame_sequence_keep;
    CREATE INDEX embeddings_model ON embeddings(model, id);
    CREATE INDEX embeddings_int8 ON embeddings(model) WHERE graph = 'int8';
    CREATE TRIGGER embedding_added AFTER INSERT ON embeddings BEGIN
        INSERT INTO changes (model, label, op) VALUES (NEW.model, NEW.id, 'add');
    END;
    CREATE TRIGGER embedding_removed AFTER DELETE ON embeddings BEGIN
        INSERT INTO changes (model, label, op) VALUES (OLD.model, OLD.id, 'remove');
    END;
    """,
}

SCHEMA_VERSION = max(MIGRATIONS)


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Bring a catalog at schema `version` to `SCHEMA_VERSION`, one transaction per step: a crash
    mid-migration leaves the last complete version intact."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        try:
            db.executescript(f"BEGIN IMMEDIATE;{MIGRATIONS[target]};PRAGMA user_version={target};COMMIT;")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
