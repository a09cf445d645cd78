"""Async client for the WeCom server API (aiohttp; wechatpy's client is synchronous).

Policies, from WeCom's error codes: the access token is fetched once under concurrency, cached,
refreshed a little before expiry and once more on 40014/42001; 40001 from gettoken is a bad secret,
reported, never retried in a loop; 45009 (rate limit) is surfaced as `RateLimited` so the caller
backs off for the window instead of hammering. Reads (contacts, tokens, media) retry -1, HTTP 5xx
and timeouts with backoff here; sends never do: they are not idempotent, and the durable outbound
table is their one retry loop (with WeCom's duplicate check, see `bot.wecom.sender`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.ops import metrics
from bot.ops.logs import redact
from storage.db import Database
from storage.fleet import TokenRepo

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40014, 42001})
BAD_SECRET = 40001
RATE_LIMITED = frozenset({45009, 45033})
REFRESH_MARGIN = 300.0


class WeComError(Exception):
    def __init__(self, path: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"{path}: errcode {errcode}: {errmsg}")
        self.path = path
        self.errcode = errcode
        self.errmsg = errmsg


class Transient(WeComError):
    """Worth retrying soon: system busy (-1), HTTP 5xx, timeouts, connection errors."""


class RateLimited(WeComError):
    """WeCom's frequency limit; wait for the window (60 s for the per-minute limits)."""

    retry_after = 60.0


class BadSecret(WeComError):
    """gettoken said 40001: the secret is wrong. An operator must fix the configuration."""


Fetch = Callable[[], Awaitable[tuple[str, float]]]


class SharedTokens:
    """The access token of a fleet, kept in the database: one `gettoken` for all instances.

    An instance that finds no valid token takes a lock (a transaction-scoped advisory lock on
    PostgreSQL), looks again, and only then asks WeCom; the others wait on the lock and read what it
    stored. The row is keyed by a digest of corp id and secret (the secret itself is never stored).
    """

    def __init__(self, db: Database, corp_id: str, secret: str) -> None:
        self.db = db
        self.key = hashlib.sha256(f"{corp_id}\x1f{secret}".encode()).hexdigest()[:32]

    async def get(self, fetch: Fetch) -> tuple[str, float]:
        """(token, seconds it stays valid)."""
        async with self.db.read() as tx:
            found = await tx.repo(TokenRepo).valid(self.key, REFRESH_MARGIN)
        if found is not None:
            return found
        async with self.db.transaction() as tx:
            await tx.lock(f"wecom_token:{self.key}")
            repo = tx.repo(TokenRepo)
            found = await repo.valid(self.key, REFRESH_MARGIN)
            if found is None:
                token, expires_in = await fetch()
                await repo.put(self.key, token, expires_in)
                found = token, expires_in
        return found

    async def drop(self, stale: str) -> None:
        async with self.db.transaction() as tx:
            await tx.repo(TokenRepo).drop(self.key, stale)


class WeComClient:
    def __init__(
        self,
        base_url: str,
        corp_id: str,
        secret: str,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        tokens: SharedTokens | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.attempts = attempts
        self.backoff = backoff
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self.tokens = tokens

    async def __aenter__(self) -> WeComClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # token ---------------------------------------------------------------------------------------
    async def token(self) -> str:
        if self._token and self._clock() < self._token_expires:
            return self._token
        async with self._token_lock:
            if self._token and self._clock() < self._token_expires:
                return self._token
            token, expires_in = await (self._gettoken() if self.tokens is None else self.tokens.get(self._gettoken))
            self._token = token
            self._token_expires = self._clock() + max(expires_in - REFRESH_MARGIN, expires_in / 2)
            return self._token

    async def _gettoken(self) -> tuple[str, float]:
        data = await self._request("GET", "gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret})
        return str(data["access_token"]), float(data.get("expires_in", 7200))

    async def _drop_token(self, stale: str) -> None:
        if self._token == stale:
            self._token = None
        if self.tokens is not None:
            await self.tokens.drop(stale)

    # calls ---------------------------------------------------------------------------------------
    async def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
        retry: bool = True,
    ) -> dict[str, Any]:
        """An authenticated API call, with one token refresh on 40014/42001 (`retry=False`: one
        attempt for transient failures too, for calls that must not be repeated blindly)."""
        for attempt in range(2):
            token = await self.token()
            try:
                return await self._request(method, path, params={**(params or {}), "access_token": token},
                                           body=body, retry=retry)
            except WeComError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 0:
                    log.info("access token rejected (%d), fetching a new one", exc.errcode)
                    await self._drop_token(token)
                    continue
                raise
        raise AssertionError("unreachable")

    async def _request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
        retry: bool = True,
    ) -> dict[str, Any]:
        """One logical request: transient failures are retried with exponential backoff (reads)."""
        if not retry:
            return await self._once(method, path, params, body)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=10),
            retry=retry_if_exception(lambda e: isinstance(e, Transient)),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, params, body)
        raise AssertionError("unreachable")

    async def _once(self, method: str, path: str, params: dict[str, Any] | None, body: Any) -> dict[str, Any]:
        url = f"{self.base_url}/cgi-bin/{path}"
        try:
            async with self.session.request(method, url, params=params, json=body, timeout=self.timeout) as resp:
                if resp.status >= 500:
                    raise Transient(path, -resp.status, f"HTTP {resp.status}")
                if resp.status != 200:
                    raise WeComError(path, -resp.status, f"HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as exc:
            metrics.WECOM_API.labels(path, "transport_error").inc()
            raise Transient(path, -2, redact(f"{type(exc).__name__}: {exc}")) from exc
        return self._check(path, data)

    def _check(self, path: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise WeComError(path, -3, "response is not a JSON object")
        errcode = int(data.get("errcode", 0) or 0)
        if errcode == 0:
            metrics.WECOM_API.labels(path, "ok").inc()
            return data
        errmsg = redact(str(data.get("errmsg", "")))
        metrics.WECOM_API.labels(path, str(errcode)).inc()
        if errcode == -1:
            raise Transient(path, errcode, errmsg)
        if errcode in RATE_LIMITED:
            raise RateLimited(path, errcode, errmsg)
        if errcode == BAD_SECRET and path == "gettoken":
            raise BadSecret(path, errcode, "the app secret (WECOM_SECRET) is wrong: " + errmsg)
        raise WeComError(path, errcode, errmsg)

    # messages ------------------------------------------------------------------------------------
    async def send_message(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "message/send", body=body, retry=False)

    async def create_menu(self, agent_id: int, buttons: list[dict[str, Any]]) -> None:
        """Replace the app's custom menu (menu/create)."""
        await self.call("POST", "menu/create", params={"agentid": agent_id}, body={"button": buttons})

    async def update_template_card(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "message/update_template_card", body=body, retry=False)

    async def appchat_create(self, name: str, owner: str, users: list[str], chat_id: str | None = None) -> str:
        payload: dict[str, Any] = {"name": name, "owner": owner, "userlist": users}
        if chat_id:
            payload["chatid"] = chat_id
        return str((await self.call("POST", "appchat/create", body=payload))["chatid"])

    async def appchat_send(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "appchat/send", body=body, retry=False)

    async def appchat_get(self, chat_id: str) -> dict[str, Any]:
        return dict((await self.call("GET", "appchat/get", params={"chatid": chat_id}))["chat_info"])

    async def robot_send(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Group robot webhook: the key is the credential, no access token."""
        return await self._request("POST", "webhook/send", params={"key": key}, body=body, retry=False)

    # media ---------------------------------------------------------------------------------------
    async def media_get(self, media_id: str) -> tuple[bytes, str]:
        """Download media; WeCom answers errors as HTTP 200 JSON, so the content type decides."""
        for attempt in range(2):
            token = await self.token()
            url = f"{self.base_url}/cgi-bin/media/get"
            try:
                async with self.session.get(url, params={"access_token": token, "media_id": media_id},
                                            timeout=self.timeout) as resp:
                    if resp.status >= 500:
                        raise Transient("media/get", -resp.status, f"HTTP {resp.status}")
                    ctype = resp.headers.get("Content-Type", "")
                    body = await resp.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise Transient("media/get", -2, redact(str(exc))) from exc
            if "json" in ctype or "text/plain" in ctype:
                try:
                    self._check("media/get", json.loads(body))
                except WeComError as exc:
                    if exc.errcode in TOKEN_ERRORS and attempt == 0:
                        await self._drop_token(token)
                        continue
                    raise
            return body, ctype
        raise AssertionError("unreachable")

    async def media_upload(self, kind: str, filename: str, data: bytes, content_type: str) -> str:
        form = aiohttp.FormData()
        form.add_field("media", data, filename=filename, content_type=content_type)
        token = await self.token()
        async with self.session.post(
            f"{self.base_url}/cgi-bin/media/upload", params={"access_token": token, "type": kind}, data=form,
            timeout=self.timeout,
        ) as resp:
            result = self._check("media/upload", await resp.json(content_type=None))
        return str(result["media_id"])

    # contacts ------------------------------------------------------------------------------------
    async def get_user(self, user_id: str) -> dict[str, Any] | None:
        try:
            return await self.call("GET", "user/get", params={"userid": user_id})
        except WeComError as exc:
            if exc.errcode in (60111, 46004):
                return None
            raise

    async def list_users(self, dept_id: int) -> list[dict[str, Any]]:
        data = await self.call("GET", "user/list", params={"department_id": dept_id})
        return list(data.get("userlist", []))

    async def list_departments(self, dept_id: int | None = None) -> list[dict[str, Any]]:
        params = {"id": dept_id} if dept_id is not None else {}
        return list((await self.call("GET", "department/list", params=params)).get("department", []))

    async def get_department(self, dept_id: int) -> dict[str, Any] | None:
        try:
            return dict((await self.call("GET", "department/get", params={"id": dept_id}))["department"])
        except WeComError as exc:
            if exc.errcode in (60003, 60123):
                return None
            raise

    async def list_tags(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "tag/list")).get("taglist", []))

    async def get_tag(self, tag_id: int) -> dict[str, Any]:
        return await self.call("GET", "tag/get", params={"tagid": tag_id})

    async def user_from_oauth_code(self, code: str) -> str | None:
        """WeCom OAuth2: a single-use code from the redirect -> the member's userid."""
        data = await self.call("GET", "auth/getuserinfo", params={"code": code})
        user_id = data.get("userid") or data.get("UserId")
        return str(user_id) if user_id else None
