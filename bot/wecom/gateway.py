"""The bot's implementation of `handlers.context.Gateway`: slow reads handlers may ask for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.wecom.client import WeComClient, WeComError
from bot.wecom.orgsync import department_from_api, user_from_api
from storage.org import Department, OrgUser
from storage.uploads import Uploads

if TYPE_CHECKING:
    from ocr.models import Invoice
    from ocr.pool import OcrPool

MAX_MEDIA = 20 * 1024 * 1024


class MediaError(Exception):
    """The media could not be fetched (expired after 3 days, wrong id, too large)."""


class BotGateway:
    def __init__(self, client: WeComClient, uploads: Uploads, ocr_engine: str, ocr_workers: int) -> None:
        self.client = client
        self.uploads = uploads
        self.ocr_engine = ocr_engine
        self.ocr_workers = ocr_workers
        self._ocr: OcrPool | None = None

    async def close(self) -> None:
        if self._ocr is not None:
            await self._ocr.close()

    async def fetch_media(self, media_id: str) -> bytes:
        try:
            data, _ = await self.client.media_get(media_id)
        except WeComError as exc:
            raise MediaError(str(exc)) from exc
        if len(data) > MAX_MEDIA:
            raise MediaError("media larger than 20 MB")
        return data

    async def fetch_upload(self, upload_id: int) -> bytes:
        data = await self.uploads.read(upload_id)
        if data is None:
            raise MediaError(f"upload {upload_id} not found")
        return data

    async def fetch_user(self, user_id: str) -> OrgUser | None:
        data = await self.client.get_user(user_id)
        return None if data is None else user_from_api(data)

    async def fetch_department(self, dept_id: int) -> Department | None:
        data = await self.client.get_department(dept_id)
        return None if data is None else department_from_api(data)

    async def fetch_tag(self, tag_id: int) -> tuple[str, list[str]] | None:
        try:
            data = await self.client.get_tag(tag_id)
        except WeComError as exc:
            if exc.errcode in (40068, 60102):
                return None
            raise
        return str(data.get("tagname", "")), [str(u["userid"]) for u in data.get("userlist", [])]

    async def read_invoice(self, data: bytes) -> Invoice:
        if self._ocr is None:
            # created on first use: worker processes load the engine once, and only if invoices arrive
            from ocr.pool import OcrPool

            self._ocr = OcrPool(self.ocr_engine, max_workers=self.ocr_workers)
        return await self._ocr.read(data)
