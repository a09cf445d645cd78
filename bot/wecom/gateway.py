"""The bot's implementation of `chat.context.Gateway`: slow reads handlers may ask for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from bot.runtime.ocr_workers import OcrWorkers
from bot.wecom.client import WeComClient, WeComError
from bot.wecom.orgsync import department_from_api, user_from_api
from storage.db import Tx
from storage.org import Department, OrgUser
from storage.reads import ThreadReads
from storage.uploads import Uploads

if TYPE_CHECKING:
    from ocr.models import Invoice

MAX_MEDIA = 20 * 1024 * 1024
R = TypeVar("R")


class MediaError(Exception):
    """The media could not be fetched (expired after 3 days, wrong id, too large)."""


class BotGateway:
    def __init__(self, client: WeComClient, uploads: Uploads, ocr: OcrWorkers, reads: ThreadReads) -> None:
        self.client = client
        self.uploads = uploads
        self.ocr = ocr
        self.reads = reads

    async def long_read(self, fn: Callable[[Tx], Awaitable[R]]) -> R:
        return await self.reads.run(fn)

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

    async def read_document(self, data: bytes) -> list[Invoice]:
        return await self.ocr.read_document(data)
