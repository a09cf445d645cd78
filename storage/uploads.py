"""Files users upload through the H5 page (PDF e-invoices, photos): kept until their expense is filed."""

from __future__ import annotations

import hashlib
from datetime import datetime

from storage.codec import to_db_time
from storage.db import Tx


class UploadRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, user_id: str, filename: str, content_type: str, data: bytes, now: datetime) -> int:
        return await self.tx.insert(
            "INSERT INTO uploads (user_id, filename, content_type, sha256, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, filename, content_type, hashlib.sha256(data).hexdigest(), data, to_db_time(now)),
        )

    async def data(self, upload_id: int) -> bytes | None:
        row = await self.tx.fetchone("SELECT data FROM uploads WHERE id = ?", (upload_id,))
        return None if row is None else bytes(row[0])
