"""The callback edge under hostile or unusual transport: split and chunked bodies, payloads nested
thousands deep, malformed query values. Raw sockets, because aiohttp's client always sends tidily."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlencode, urlsplit

import pytest

from simulator.crypto import CallbackCipher, new_nonce
from tests.world import World

SEGMENT = 1448  # one TCP segment's payload on a typical link


def signed(world: World, plaintext: str) -> tuple[str, bytes]:
    """The request target and body of a valid encrypted callback, as WeCom would send it."""
    sim = world.sim
    cipher = CallbackCipher(sim.token, sim.aes_key, sim.corp_id)
    env = cipher.envelope(plaintext, timestamp=str(int(world.clock.timestamp())), nonce=new_nonce(),
                          agent_id=sim.agent_id)
    return f"/wecom/callback?{urlencode(env.query)}", env.body.encode()


def text_message(world: World, user: str, content: str, msg_id: int) -> str:
    sim = world.sim
    return (
        f"<xml><ToUserName><![CDATA[{sim.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(world.clock.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>{sim.agent_id}</AgentID></xml>"
    )


async def raw_exchange(world: World, head: bytes, parts: list[bytes], pause: float = 0.001) -> int:
    """Write the request head and the body parts with pauses between them; return the HTTP status."""
    address = urlsplit(world.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        # the bot may answer and close before it has read everything (a 413, say)
        with contextlib.suppress(ConnectionError):
            writer.write(head)
            for part in parts:
                await writer.drain()
                await asyncio.sleep(pause)
                writer.write(part)
            await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
    return int(status_line.split()[1])


def request_head(target: str, **headers: str) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: bot", "Content-Type: text/xml", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes, size: int) -> list[bytes]:
    parts = [f"{len(body[i:i + size]):x}\r\n".encode() + body[i:i + size] + b"\r\n" for i in range(0, len(body), size)]
    return [*parts, b"0\r\n\r\n"]


def inbox_texts(world: World) -> list[str]:
    return [r["payload"] for r in world.rows("SELECT payload FROM inbox WHERE msg_type = 'text' ORDER BY id")]


async def test_a_body_split_across_tcp_segments_is_read_whole(world: World) -> None:
    padding = "长" * 600  # about 3 KB once encrypted: more than one segment
    for i in range(5):
        target, body = signed(world, text_message(world, "liuyang", f"帮助 {i} {padding}", 4_000_000 + i))
        assert len(body) > 2 * SEGMENT
        head = request_head(target, Content_Length=str(len(body)))
        status = await raw_exchange(world, head, [body[:SEGMENT], body[SEGMENT:]])
        assert status == 200
    await world.idle()
    assert len(inbox_texts(world)) == 5


async def test_a_chunked_body_is_read_whole_and_capped(world: World) -> None:
    target, body = signed(world, text_message(world, "liuyang", "帮助 " + "长" * 600, 4_100_000))
    status = await raw_exchange(world, request_head(target, Transfer_Encoding="chunked"), chunked(body, 700))
    assert status == 200
    # over the 1 MB cap without a Content-Length: refused as too large, nothing stored
    huge = b"<xml><Encrypt>" + b"A" * (1024 * 1024 + 4096) + b"</Encrypt></xml>"
    status = await raw_exchange(world, request_head(target, Transfer_Encoding="chunked"),
                                chunked(huge, 64 * 1024), pause=0)
    assert status == 413
    await world.idle()
    assert len(inbox_texts(world)) == 1


async def test_a_payload_nested_thousands_deep_is_refused_alone(world: World) -> None:
    deep = text_message(world, "sunli", "help", 4_200_000).replace(
        "</xml>", "<a>" * 3000 + "x" + "</a>" * 3000 + "</xml>")
    sim = world.sim
    results = await asyncio.gather(
        *(sim.send_text(user, "帮助") for user in ("liuyang", "wangfang", "lina", "chenjing")),
        sim.deliver(deep, retries=0),
    )
    assert [r.status for r in results] == [200, 200, 200, 200, 400]
    await world.idle()
    assert len(inbox_texts(world)) == 4


@pytest.mark.parametrize("query", [
    {"timestamp": "²"},  # a digit to str.isdigit(), not to int()
    {"timestamp": "١٧٠٠٠٠٠٠٠٠"},  # Arabic-Indic digits: int() reads them, WeCom never sends them
    {"timestamp": "9" * 40},
    {"nonce": "a\nb"},
    {"msg_signature": "x" * 5000},
])
async def test_malformed_query_values_get_a_4xx_and_one_escaped_log_line(
    world: World, query: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    target, body = signed(world, text_message(world, "liuyang", "帮助", 4_300_000))
    params = dict(pair.split("=", 1) for pair in urlsplit(target).query.split("&"))
    params.update({k: v for k, v in query.items()})
    with caplog.at_level(logging.INFO, logger="bot.wecom.callback"):
        status = await raw_exchange(world, request_head(f"/wecom/callback?{urlencode(params)}",
                                                        Content_Length=str(len(body))), [body])
    assert 400 <= status < 500
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.wecom.callback"]
    assert len(lines) == 1 and "\n" not in lines[0]
    await world.idle()
    assert inbox_texts(world) == []
