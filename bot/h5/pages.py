"""The upload page (`/h5/upload`), which brings PDF e-invoices and photos into the expense chat.

Self-built apps never receive file messages, so the bot serves this page. The person is
identified by WeCom OAuth2 (see `bot.h5.sessions`). An upload is stored and then goes through the
normal inbox as a `file` item from source `upload`, so the expense dialog continues in the chat
exactly as if the file had been sent there.

Each member may upload `BOT_UPLOAD_PER_HOUR` files an hour and keep `BOT_UPLOAD_QUOTA_MB` of them
until they are filed (the original then stays with its expense, outside the quota) or abandoned (then
the retention job deletes them); the limits are checked
before the body is read and again, with the file's size, in the transaction that stores it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import timedelta

from aiohttp import BodyPartReader, web

from bot.h5.shell import PagePlugin, esc, page_shell
from bot.parts import BOT, Bot
from config import Settings
from storage.inbox import InboxItem, InboxRepo
from storage.uploads import UploadRepo, UploadUsage

log = logging.getLogger(__name__)

PATH = "/h5/upload"
MAX_UPLOAD = 10 * 1024 * 1024
MAGIC = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff(data: bytes) -> str | None:
    """The content type by magic bytes; the browser's claim is not trusted."""
    return next((kind for magic, kind in MAGIC if data.startswith(magic)), None)


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return page_shell(title, "财务助手", f"<section>{body}</section>", status, tab="upload")


def _form(csrf: str) -> web.Response:
    body = f"""<p>选择 PDF 电子发票或发票照片（JPG/PNG，最大 10 MB）。上传后回到聊天确认报销。</p>
<form method="post" action="{PATH}" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{esc(csrf)}">
<input type="file" name="file" accept="application/pdf,image/jpeg,image/png" required>
<button type="submit">上传</button></form>"""
    return _page("上传发票", body)


class UploadPage(PagePlugin):
    """Plugin: the upload page."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.show)
        app.router.add_post(PATH, self.receive)

    # GET: session, or OAuth redirect, or the redirect back --------------------------------------
    async def show(self, request: web.Request) -> web.StreamResponse:
        viewer = await self.sessions.viewer(request, PATH)
        if isinstance(viewer, web.Response):
            return viewer
        return _form(self.sessions.csrf(request))

    # POST: store the file and hand it to the chat ------------------------------------------------
    async def receive(self, request: web.Request) -> web.Response:
        bot = request.app[BOT]
        user_id = await self.sessions.user(request)
        if user_id is None:
            return _page("登录已过期", f'<p>请重新打开<a href="{PATH}">上传页面</a>。</p>', status=401)
        async with bot.db.read() as tx:
            refused = _over_limit(await _usage(tx.repo(UploadRepo), bot, user_id), 0, bot.settings)
        if refused is not None:
            return refused
        try:
            csrf, filename, data = await self._read_form(request)
        except _TooLarge:
            return _page("文件太大", f'<p>文件不能超过 10 MB。<a href="{PATH}">重新选择</a></p>', status=413)
        if not hmac.compare_digest(csrf, self.sessions.csrf(request)):
            return _page("页面已过期", f'<p>请<a href="{PATH}">刷新页面</a>后重新上传。</p>', status=403)
        content_type = sniff(data)
        if content_type is None:
            return _page("文件类型不支持", f'<p>只支持 PDF、JPG、PNG。<a href="{PATH}">重新选择</a></p>', status=415)
        try:
            item = await self._store(bot, user_id, filename, content_type, data)
        except _Refused as exc:
            return exc.page
        bot.dispatcher.dispatch(item)
        return _page("已收到，请回到聊天确认", "<p>发票已收到，识别结果会发到企业微信聊天中，请回到聊天确认报销。</p>")

    async def _read_form(self, request: web.Request) -> tuple[str, str, bytes]:
        """Stream the multipart body (the app's small body limit does not apply), capped at 10 MB."""
        csrf, filename, data = "", "upload", b""
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "csrf":
                csrf = (await part.read(decode=True)).decode(errors="replace")[:200]
            elif part.name == "file":
                filename = (part.filename or filename)[:200]
                chunks: list[bytes] = []
                size = 0
                while chunk := await part.read_chunk(64 * 1024):
                    size += len(chunk)
                    if size > MAX_UPLOAD:
                        raise _TooLarge
                    chunks.append(chunk)
                data = b"".join(chunks)
        return csrf, filename, data

    async def _store(self, bot: Bot, user_id: str, filename: str, content_type: str, data: bytes) -> InboxItem:
        """The file first, then its row and inbox item in one transaction that checks the limits again
        (uploads of the same member may race); a refused or failed upload leaves no file behind."""
        now = bot.clock.now()
        name = await self.files.write(data)
        try:
            async with bot.db.transaction() as tx:
                repo = tx.repo(UploadRepo)
                refused = _over_limit(await _usage(repo, bot, user_id), len(data), bot.settings)
                if refused is not None:
                    raise _Refused(refused)
                upload_id = await repo.add(user_id, filename, content_type, hashlib.sha256(data).hexdigest(),
                                           len(data), name, now)
                item = await tx.repo(InboxRepo).add(InboxItem(
                    dedupe_key=f"upload:{upload_id}", source="upload", user_id=user_id, msg_type="file", event=None,
                    payload={"upload_id": upload_id, "filename": filename, "content_type": content_type},
                    received_at=now,
                ))
        except BaseException:
            await self.files.remove([name])
            raise
        assert item is not None  # the upload id is new, so its key is too
        return item


async def _usage(repo: UploadRepo, bot: Bot, user_id: str) -> UploadUsage:
    return await repo.usage(user_id, since=bot.clock.now() - timedelta(hours=1))


def _over_limit(usage: UploadUsage, size: int, settings: Settings) -> web.Response | None:
    """The page that refuses one more upload of `size` bytes, or None when it is within the limits."""
    if usage.recent >= settings.bot_upload_per_hour:
        return _page("上传太频繁", f"<p>每小时最多上传 {settings.bot_upload_per_hour} 个文件，请稍后再试。</p>", 429)
    if usage.bytes_kept + size > settings.bot_upload_quota_mb * 1024 * 1024:
        return _page("上传空间已满", f"<p>待处理的上传最多 {settings.bot_upload_quota_mb} MB。"
                                 "请先在聊天中确认或取消已上传的发票，稍后再试。</p>", 429)
    return None


class _TooLarge(Exception):
    """The upload passed the 10 MB cap."""


class _Refused(Exception):
    """The upload is over the member's limits; `page` says so."""

    def __init__(self, page: web.Response) -> None:
        super().__init__("upload refused")
        self.page = page
