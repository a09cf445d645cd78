"""The callback edge, through HTTP only: verification, refusals, de-duplication, ordering."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import aiohttp
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from tests.metrics import sample
from tests.world import START_AT, World

START = int(START_AT.timestamp())  # the world's clock starts here

VECTOR_A = {
    "token": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "aes_key": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "corp_id": "ww1436e0e65a779aee",
}


def text_xml(corp: str, user: str, content: str, msg_id: int, created: int = START) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


def envelope(crypto: WeChatCrypto, plaintext: str, ts: int = START) -> tuple[dict[str, str], str]:
    env = crypto.encrypt_message(plaintext, "4242", str(ts))
    parsed = xmltodict.parse(env)["xml"]
    return {"msg_signature": parsed["MsgSignature"], "timestamp": parsed["TimeStamp"], "nonce": parsed["Nonce"]}, env


def counts(world: World) -> tuple[int, int]:
    return world.value("SELECT COUNT(*) FROM inbox"), world.value("SELECT COUNT(*) FROM outbound")


async def test_url_verification_with_the_official_vector(bare_world: World) -> None:
    world = bare_world
    world.clock.set(datetime.fromtimestamp(1476416373, UTC))
    await world.start_bot(wecom_token=VECTOR_A["token"], wecom_aes_key=VECTOR_A["aes_key"],
                          wecom_corp_id=VECTOR_A["corp_id"])
    params = {
        "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
        "timestamp": "1476416373",
        "nonce": "47744683",
        "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
    }
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        async with http.get(f"{world.url}/wecom/callback", params=params) as resp:
            body = await resp.read()
        elapsed = time.perf_counter() - started
        assert resp.status == 200
        assert body == b"1288432023552776189"
        assert elapsed < 1.0
        params["msg_signature"] = "0" * 40
        async with http.get(f"{world.url}/wecom/callback", params=params) as resp:
            assert resp.status == 403


async def test_simulator_url_verification(world: World) -> None:
    status, body = await world.sim.verify_url()
    assert status == 200 and body == world.sim.last_echo


async def test_bad_requests_are_refused_and_change_nothing(world: World) -> None:
    sim = world.sim
    url = f"{world.url}/wecom/callback"
    good = WeChatCrypto(sim.token, sim.aes_key, sim.corp_id)
    before = counts(world)
    async with aiohttp.ClientSession() as http:

        async def post(params: dict[str, str], body: str | bytes) -> int:
            async with http.post(url, params=params, data=body) as resp:
                return resp.status

        xml = text_xml(sim.corp_id, "liuyang", "帮助", 1)
        params, env = envelope(good, xml)
        bad_sig = {**params, "msg_signature": "f" * 40}
        assert await post(bad_sig, env) == 403
        stale, stale_env = envelope(good, xml, ts=START - 3600)
        assert await post(stale, stale_env) == 403
        future, future_env = envelope(good, xml, ts=START + 3600)
        assert await post(future, future_env) == 403
        other_corp = WeChatCrypto(sim.token, sim.aes_key, "wwsomeoneelse0001")
        wrong_corp, wrong_env = envelope(other_corp, text_xml("wwsomeoneelse0001", "liuyang", "帮助", 2))
        assert await post(wrong_corp, wrong_env) == 403
        other_key = WeChatCrypto(sim.token, "B" * 43, sim.corp_id)
        wrong_key, wrong_key_env = envelope(other_key, xml)
        assert await post(wrong_key, wrong_key_env) == 400  # signature fine (same token), ciphertext garbage
        assert await post({}, env) == 400
        assert await post({**params, "timestamp": "yesterday"}, env) == 400
        assert await post(params, b"<xml><Encrypt>") == 400
        assert await post(params, b"not xml at all") == 400
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            "<xml><Encrypt>&lol2;</Encrypt></xml>"
        )
        assert await post(params, bomb) == 400
        assert await post(params, b"<xml><Encrypt>" + b"A" * (1024 * 1024 + 10) + b"</Encrypt></xml>") == 413
        unknown = xml.replace("<MsgType><![CDATA[text]]></MsgType>", "<MsgType><![CDATA[hologram]]></MsgType>")
        p, e = envelope(good, unknown)
        assert await post(p, e) == 200  # well-formed but unsupported: acknowledged, logged, not processed
        async with http.get(f"{world.url}/metrics") as resp:
            metrics_text = await resp.text()
    await world.idle()
    assert counts(world) == before
    assert sample(metrics_text, "bot_callbacks_total", endpoint="app", outcome="refused")
    assert world.sim.messages_to("liuyang") == []


async def test_duplicate_delivery_is_processed_once(world: World) -> None:
    sim = world.sim
    xml = text_xml(sim.corp_id, "liuyang", "帮助", 987654321)
    for _ in range(3):  # WeCom redelivers with a new timestamp, nonce and signature each time
        result = await sim.deliver(xml)
        assert result.status == 200 and result.body == b""
    await world.idle()
    await sim.wait_for_message(to="liuyang", contains="报销")
    await world.bot.sender.stop()  # nothing else is queued: exactly one reply was produced
    inbox, outbound = counts(world)
    assert (inbox, outbound) == (1, 1)
    assert len(sim.messages_to("liuyang")) == 1


async def test_distinct_events_in_the_same_second_are_all_kept(world: World) -> None:
    sim = world.sim
    ts = int(world.clock.timestamp())
    base = (
        "<xml><ToUserName>{corp}</ToUserName><FromUserName>liuyang</FromUserName><CreateTime>{ts}</CreateTime>"
        "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>{lat}</Latitude><Longitude>121.5</Longitude>"
        "<Precision>30</Precision><AgentID>1000002</AgentID></xml>"
    )
    for lat in ("31.1", "31.2", "31.1"):  # the third repeats the first: a redelivery
        assert (await sim.deliver(base.format(corp=sim.corp_id, ts=ts, lat=lat))).status == 200
    await world.idle()
    assert counts(world)[0] == 2


async def test_messages_of_one_user_are_handled_in_arrival_order(world: World) -> None:
    sim = world.sim
    for i in range(15):
        assert (await sim.send_text("liuyang", f"帮助 {i}")).status == 200
        assert (await sim.send_text("sunli", f"help {i}")).status == 200
    await world.idle()
    for user in ("liuyang", "sunli"):
        rows = world.rows("SELECT id, processed_at FROM inbox WHERE user_id = ? ORDER BY id", (user,))
        assert len(rows) == 15
        processed = [r["processed_at"] for r in rows]
        assert processed == sorted(processed)


async def test_a_callback_that_cannot_be_stored_is_not_acknowledged(world: World) -> None:
    await world.bot.db.close()  # the disk is gone: nothing can be made durable
    xml = text_xml(world.sim.corp_id, "liuyang", "帮助", 55)
    result = await world.sim.deliver(xml, retries=0)
    assert result.status == 503  # WeCom will deliver it again
