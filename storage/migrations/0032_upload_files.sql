-- Upload bytes move out of the database into files under the data folder (storage/uploads.py): the
-- row names its file and size. Rows from before keep their bytes in `data` until they are pruned.
-- Ids never come back after pruning (AUTOINCREMENT): an upload's inbox key is `upload:<id>`.
CREATE TABLE uploads_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    file TEXT,
    data BLOB,
    created_at TEXT NOT NULL
);

INSERT INTO uploads_new (id, user_id, filename, content_type, sha256, size, file, data, created_at) SELECT id, user_id, filename, content_type, sha256, length(data), NULL, data, created_at FROM uploads;

DROP TABLE uploads;

ALTER TABLE uploads_new RENAME TO uploads;

CREATE INDEX uploads_by_user ON uploads (user_id, created_at);
