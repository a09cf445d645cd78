"""Pushing encrypted callbacks to the bot with WeCom's retry behaviour (5 s budget, 1 + 3 attempts)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from defusedxml import ElementTree

from simulator.crypto import CallbackCipher, new_nonce
from simulator.models import CallbackResult


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout: float = 5.0
    retries: int = 3
    interval: float = 0.0


@dataclass(frozen=True)
class Attempt:
    status: int
    body: bytes
    timestamp: str
    nonce: str


async def _attempt(session: aiohttp.ClientSession, url: str, cipher: CallbackCipher, plaintext: str,
                   agent_id: int | None, timestamp: str, nonce: str, timeout: float) -> Attempt:
    env = cipher.envelope(plaintext, timestamp=timestamp, nonce=nonce, agent_id=agent_id)
    try:
        async with session.post(
            url, params=env.query, data=env.body.encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            return Attempt(resp.status, await resp.read(), timestamp, nonce)
    except (TimeoutError, aiohttp.ClientError):
        return Attempt(0, b"", timestamp, nonce)


def open_passive_reply(cipher: CallbackCipher, body: bytes) -> str:
    """Verify and decrypt a passive reply envelope; raises on a bad signature or malformed XML."""
    root = ElementTree.fromstring(body)
    values = {child.tag: (child.text or "") for child in root}
    return cipher.open_reply(body.decode("utf-8"), values["MsgSignature"], values["TimeStamp"], values["Nonce"])


async def deliver(session: aiohttp.ClientSession, url: str, cipher: CallbackCipher, plaintext: str, *,
                  agent_id: int | None, policy: DeliveryPolicy, clock: Callable[[], float],
                  timestamp: str | None = None, nonce: str | None = None) -> CallbackResult:
    """POST until a 200 arrives or the retries run out. Each attempt is a fresh request (new nonce,
    timestamp and ciphertext) unless the caller pinned timestamp/nonce. A non-empty 200 body must be a
    valid passive-reply envelope; its plaintext (or why it failed) lands in the result."""
    statuses: list[int] = []
    last = Attempt(0, b"", "", "")
    for number in range(policy.retries + 1):
        if number and policy.interval:
            await asyncio.sleep(policy.interval)
        ts = timestamp if timestamp is not None else str(int(clock()))
        last = await _attempt(session, url, cipher, plaintext, agent_id, ts, nonce or new_nonce(), policy.timeout)
        statuses.append(last.status)
        if last.status == 200:
            break
    result = CallbackResult(last.status, last.body, len(statuses), statuses=statuses)
    if last.status == 200 and last.body.strip():
        try:
            result.reply = open_passive_reply(cipher, last.body)
        except Exception as exc:  # any parse/signature/crypto failure is the bot's protocol error
            result.reply_error = f"{type(exc).__name__}: {exc}"
    return result
