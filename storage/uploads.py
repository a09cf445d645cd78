"""Files users upload through the H5 page (PDF e-invoices, photos): an abandoned one is deleted after
the retention hours; the one an expense is filed from is kept with it as the invoice's original.

The bytes live in files under the data folder (`uploads/ab/<sha256>-<token>`), not in the
database: a burst of uploads must not bloat the table every transaction writes next to. Each
upload owns its file (named by the content's sha256 plus a random token), so deleting one never
races with another upload of the same bytes. The file is written before its row is committed; a
file without a row (a refused upload, a crash in between) is swept later. Rows from before files
carry their bytes in `data` until they are pruned.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage.codec import from_db_time, to_db_time
from storage.db import Database, Row, Tx


@dataclass(frozen=True, slots=True)
class Upload:
    id: int
    user_id: str
    filename: str
    content_type: str
    sha256: str
    size: int
    file: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UploadUsage:
    """One user's uploads: how many arrived since a moment, and the bytes still kept."""

    recent: int
    bytes_kept: int


def _upload(row: Row) -> Upload:
    return Upload(
        id=row["id"], user_id=row["user_id"], filename=row["filename"], content_type=row["content_type"],
        sha256=row["sha256"], size=row["size"], file=row["file"],
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
    )


COLUMNS = "id, user_id, filename, content_type, sha256, size, file, created_at"
# an upload `u` is the original of a filed expense: the first upload of bytes a live expense claims
ORIGINAL = ("(u.file IS NOT NULL AND EXISTS (SELECT 1 FROM expenses e WHERE e.file_sha256 = u.sha256"
            " AND e.status NOT IN ('rejected', 'withdrawn')) AND u.id = (SELECT MIN(o.id) FROM uploads o"
            " WHERE o.sha256 = u.sha256 AND o.file IS NOT NULL))")


class UploadRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(
        self, user_id: str, filename: str, content_type: str, sha256: str, size: int, file: str, now: datetime
    ) -> int:
        return await self.tx.insert(
            "INSERT INTO uploads (user_id, filename, content_type, sha256, size, file, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user_id, filename, content_type, sha256, size, file, to_db_time(now)),
        )

    async def get(self, upload_id: int) -> Upload | None:
        row = await self.tx.fetchone(f"SELECT {COLUMNS} FROM uploads WHERE id = ?", (upload_id,))
        return None if row is None else _upload(row)

    async def legacy_data(self, upload_id: int) -> bytes | None:
        row = await self.tx.fetchone("SELECT data FROM uploads WHERE id = ?", (upload_id,))
        return None if row is None or row[0] is None else bytes(row[0])

    async def usage(self, user_id: str, since: datetime) -> UploadUsage:
        row = await self.tx.fetchone(
            f"SELECT COUNT(CASE WHEN u.created_at >= ? THEN 1 END), COALESCE(SUM(CASE WHEN {ORIGINAL} THEN 0"
            " ELSE u.size END), 0) FROM uploads u WHERE u.user_id = ?",
            (to_db_time(since), user_id),
        )
        assert row is not None
        return UploadUsage(int(row[0]), int(row[1]))

    async def done_with(self, abandoned_before: datetime) -> list[Upload]:
        """Uploads no longer needed: older than `abandoned_before` and not the original of a filed
        expense (the first upload of the bytes an expense claims, kept with it and shown on its page);
        never one whose inbox item still waits to be handled."""
        rows = await self.tx.fetchall(
            f"SELECT {', '.join('u.' + c for c in COLUMNS.split(', '))} FROM uploads u"
            " WHERE NOT EXISTS (SELECT 1 FROM inbox i WHERE i.dedupe_key = 'upload:' || u.id AND i.status = 'pending')"
            f" AND u.created_at < ? AND NOT {ORIGINAL}",
            (to_db_time(abandoned_before),),
        )
        return [_upload(r) for r in rows]

    async def original(self, sha256: str) -> Upload | None:
        """The kept original of a filed expense's invoice file, if it came through the upload page."""
        row = await self.tx.fetchone(
            f"SELECT {COLUMNS} FROM uploads WHERE sha256 = ? AND file IS NOT NULL ORDER BY id LIMIT 1", (sha256,))
        return None if row is None else _upload(row)

    async def delete(self, upload_ids: Iterable[int]) -> None:
        await self.tx.executemany("DELETE FROM uploads WHERE id = ?", [(i,) for i in upload_ids])

    async def files(self) -> set[str]:
        return {r[0] for r in await self.tx.fetchall("SELECT file FROM uploads WHERE file IS NOT NULL")}


class UploadFiles:
    """The bytes of uploads, one file each under the data folder's `uploads/`; disk work runs in a thread."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "uploads"

    async def write(self, data: bytes) -> str:
        """Store the bytes; returns the file's name relative to the folder."""
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest[:2]}/{digest}-{secrets.token_hex(4)}"
        await asyncio.to_thread(self._write, name, data)
        return name

    def _write(self, name: str, data: bytes) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        os.replace(partial, path)  # readers see the whole file or none

    async def read(self, name: str) -> bytes | None:
        path = self.folder / name
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def remove(self, names: Iterable[str]) -> None:
        await asyncio.to_thread(self._remove, list(names))

    def _remove(self, names: list[str]) -> None:
        for name in names:
            (self.folder / name).unlink(missing_ok=True)

    async def sweep(self, kept: set[str], grace: float = 3600.0) -> int:
        """Remove files no row names (refused uploads, a crash between file and row), once they are
        older than `grace` seconds so an upload still on its way to its row is left alone."""
        return await asyncio.to_thread(self._sweep, kept, time.time() - grace)

    def _sweep(self, kept: set[str], cutoff: float) -> int:
        removed = 0
        if not self.folder.exists():
            return 0
        for path in self.folder.glob("*/*"):
            name = path.relative_to(self.folder).as_posix()
            if name not in kept and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class Uploads:
    """An upload's bytes by its id, wherever they are kept (a file; a legacy row's own column)."""

    def __init__(self, db: Database, files: UploadFiles) -> None:
        self.db = db
        self.files = files

    async def read(self, upload_id: int) -> bytes | None:
        async with self.db.read() as tx:
            upload = await tx.repo(UploadRepo).get(upload_id)
            if upload is None or upload.file is None:
                return await tx.repo(UploadRepo).legacy_data(upload_id)
        return await self.files.read(upload.file)
