"""Temporary media: media/upload, media/get, webhook/upload_media and the PicUrl of inbound images."""

from __future__ import annotations

import mimetypes
import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aiohttp import BodyPartReader, web

from simulator import errors, tokens
from simulator.errors import ApiError
from simulator.models import Media
from simulator.server import NO_TOKEN, SIM_KEY, ApiRequest, Route, json_response, ok

if TYPE_CHECKING:
    from simulator.core import WeComSimulator

MEDIA_TTL = 3 * 24 * 3600
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
SIZE_LIMITS = {"image": 10 * 2**20, "voice": 2 * 2**20, "video": 10 * 2**20, "file": 20 * 2**20}


def store(sim: WeComSimulator, kind: str, filename: str, data: bytes, content_type: str | None = None) -> Media:
    guessed = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    media = Media(f"sim-{kind}-{secrets.token_hex(12)}", kind, filename, guessed, data, sim.clock())
    sim.media[media.media_id] = media
    return media


async def _read_part(req: ApiRequest) -> tuple[str, str | None, bytes]:
    if not req.request.content_type.startswith("multipart/"):
        raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: expected multipart/form-data")
    reader = await req.request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name == "media":
            data = await part.read(decode=False)
            # aiohttp clients percent-encode non-ASCII filenames; browsers send them raw.
            return unquote(part.filename or "media"), part.headers.get("Content-Type"), bytes(data)
    raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: multipart field 'media' missing")


async def _upload(sim: WeComSimulator, req: ApiRequest, allowed: set[str]) -> dict[str, Any]:
    kind = req.query.get("type", "")
    if kind not in allowed:
        raise ApiError(errors.INVALID_MEDIA_TYPE, "invalid media type")
    filename, content_type, data = await _read_part(req)
    if len(data) <= 5 or len(data) > SIZE_LIMITS[kind]:
        raise ApiError(errors.INVALID_FILE_SIZE, "invalid file size")
    media = store(sim, kind, filename, data, content_type)
    return ok(type=kind, media_id=media.media_id, created_at=str(int(media.created_at)))


async def upload(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    return await _upload(sim, req, set(SIZE_LIMITS))


async def webhook_upload(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    if req.query.get("key", "") not in sim.robots:
        raise ApiError(errors.WEBHOOK_KEY_INVALID, "invalid webhook url")
    return await _upload(sim, req, {"file", "voice"})


def _byte_range(header: str, total: int) -> tuple[int, int] | None:
    """Parse a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range; None when unsatisfiable."""
    match = RANGE_RE.match(header.strip())
    if match is None or total == 0:
        return None
    first, last = match.groups()
    if first == "":
        if last == "" or int(last) == 0:
            return None
        return max(total - int(last), 0), total - 1
    start, end = int(first), min(int(last) if last else total - 1, total - 1)
    return (start, end) if start <= end else None


def _binary(media: Media, range_header: str | None = None) -> web.Response:
    disposition = f"attachment; filename=\"{quote(media.filename)}\"; filename*=UTF-8''{quote(media.filename)}"
    headers = {"Content-Disposition": disposition, "Accept-Ranges": "bytes"}
    total = len(media.data)
    if not range_header:
        return web.Response(body=media.data, content_type=media.content_type, headers=headers)
    span = _byte_range(range_header, total)
    if span is None:
        return web.Response(status=416, headers={"Content-Range": f"bytes */{total}"})
    start, end = span
    headers["Content-Range"] = f"bytes {start}-{end}/{total}"
    return web.Response(status=206, body=media.data[start:end + 1], content_type=media.content_type,
                        headers=headers)


async def get(sim: WeComSimulator, req: ApiRequest) -> web.StreamResponse:
    media = sim.media.get(req.query.get("media_id", ""))
    if media is None or not sim.media_valid(media.media_id):
        return json_response({"errcode": errors.INVALID_MEDIA_ID, "errmsg": "invalid media_id"})
    return _binary(media, req.request.headers.get("Range"))


async def picture(request: web.Request) -> web.StreamResponse:
    """Public picture URL sent as PicUrl with image messages (no token, like WeCom's CDN)."""
    sim = request.app[SIM_KEY]
    media = sim.media.get(request.match_info["media_id"])
    if media is None or media.type != "image":
        raise web.HTTPNotFound()
    return _binary(media)


ROUTES = [
    Route("POST", "media/upload", tokens.APP, upload, json_body=False),
    Route("GET", "media/get", tokens.APP, get),
    Route("POST", "webhook/upload_media", NO_TOKEN, webhook_upload, json_body=False),
]
