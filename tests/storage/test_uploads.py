"""Upload rows and files: bytes from before files stay readable; orphan files are swept, kept ones are not."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from storage.sqlite import SqliteDatabase
from storage.uploads import UploadFiles, UploadRepo, Uploads


async def test_uploads_from_before_files_keep_their_bytes(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "bot.db")
    await db.open()
    await db.close()
    with sqlite3.connect(tmp_path / "bot.db") as conn:  # the table as an older version left it
        conn.execute("DELETE FROM schema_migrations WHERE version = 32")
        conn.execute("DROP TABLE uploads")
        conn.execute("CREATE TABLE uploads (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, filename TEXT NOT NULL,"
                     " content_type TEXT NOT NULL, sha256 TEXT NOT NULL, data BLOB NOT NULL, created_at TEXT NOT NULL)")
        conn.execute("INSERT INTO uploads VALUES (7, 'liuyang', 'a.pdf', 'application/pdf', 'ab', ?,"
                     " '2026-11-25T02:00:00.000000Z')", (b"%PDF-old",))
    await db.open()
    files = UploadFiles(tmp_path)
    try:
        assert await Uploads(db, files).read(7) == b"%PDF-old"
        async with db.transaction() as tx:
            new_id = await tx.repo(UploadRepo).add("liuyang", "b.pdf", "application/pdf", "cd", 8,
                                                   await files.write(b"%PDF-new"), datetime(2026, 11, 25, tzinfo=UTC))
            usage = await tx.repo(UploadRepo).usage("liuyang", datetime(2026, 11, 24, tzinfo=UTC))
        assert await Uploads(db, files).read(new_id) == b"%PDF-new" and await Uploads(db, files).read(99) is None
        assert (usage.recent, usage.bytes_kept) == (2, len(b"%PDF-old") + 8)
    finally:
        await db.close()


async def test_the_sweep_removes_only_old_files_no_row_names(tmp_path: Path) -> None:
    files = UploadFiles(tmp_path)
    kept, orphan, fresh = [await files.write(d) for d in (b"kept", b"orphan", b"fresh")]
    now = time.time()  # the test's clock may not be the file system's (faketime): set every age
    for name, age in ((kept, 7200), (orphan, 7200), (fresh, 60)):
        os.utime(files.folder / name, (now - age, now - age))
    assert await files.sweep({kept}) == 1
    assert {p.relative_to(files.folder).as_posix() for p in files.folder.glob("*/*")} == {kept, fresh}
