"""Driving a bot over real HTTP: encrypted callbacks, URL verification, redelivery, passive replies."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from defusedxml import ElementTree
from sim_support import Receiver
from wechatpy.enterprise.crypto import WeChatCrypto

from simulator import WeComSimulator


def fields(xml: str) -> dict[str, str]:
    return {child.tag: (child.text or "") for child in ElementTree.fromstring(xml)}


async def test_text_message_is_encrypted_signed_and_acknowledged(sim: WeComSimulator, receiver: Receiver) -> None:
    result = await sim.send_text("liuyang", "报销 打车 ¥35.50 ]]> 结束")
    assert (result.status, result.attempts, result.body, result.reply) == (200, 1, b"", None)
    msg = fields(receiver.plaintexts[0])
    assert msg["ToUserName"] == sim.corp_id
    assert msg["FromUserName"] == "liuyang"
    assert msg["MsgType"] == "text"
    assert msg["Content"] == "报销 打车 ¥35.50 ]]> 结束"
    assert msg["AgentID"] == str(sim.agent_id)
    assert int(msg["CreateTime"]) == int(sim.clock())
    assert int(msg["MsgId"]) > 0


async def test_each_message_gets_a_distinct_msgid(sim: WeComSimulator, receiver: Receiver) -> None:
    await sim.send_text("liuyang", "一")
    await sim.send_text("liuyang", "二")
    ids = [fields(p)["MsgId"] for p in receiver.plaintexts]
    assert len(set(ids)) == 2


async def test_redelivery_on_500_uses_fresh_requests(sim: WeComSimulator, receiver: Receiver) -> None:
    receiver.script = [(0, 500), (0, 503), (0, 500), (0, 500)]
    result = await sim.send_text("lina", "hi")
    assert result.attempts == 4
    assert result.statuses == [500, 503, 500, 500]
    assert result.status == 500
    assert len({q["nonce"] for q in receiver.queries}) == 4
    assert len({q["msg_signature"] for q in receiver.queries}) == 4
    assert len(set(receiver.plaintexts)) == 1


async def test_redelivery_stops_at_first_200(sim: WeComSimulator, receiver: Receiver) -> None:
    receiver.script = [(0, 500), (0, 200)]
    result = await sim.send_text("lina", "hi")
    assert (result.attempts, result.status) == (2, 200)


async def test_slow_receiver_is_retried_after_timeout(sim: WeComSimulator, receiver: Receiver) -> None:
    sim.callback_timeout = 0.3
    receiver.script = [(1.0, 200), (1.0, 200), (0, 200)]
    started = time.monotonic()
    result = await sim.send_text("lina", "慢一点")
    assert result.statuses == [0, 0, 200]
    assert result.attempts == 3
    assert time.monotonic() - started < 2.0


async def test_redelivery_count_is_configurable(sim: WeComSimulator, receiver: Receiver) -> None:
    sim.redelivery_count = 1
    receiver.script = [(0, 500)] * 4
    assert (await sim.send_text("lina", "x")).attempts == 2
    assert (await sim.send_text("lina", "x", )).statuses == [500, 500]
    result = await sim.deliver("<xml><MsgType>text</MsgType></xml>", retries=0)
    assert result.attempts == 1


async def test_unreachable_bot_reports_status_zero(sim: WeComSimulator) -> None:
    result = await sim.deliver("<xml/>", url="http://127.0.0.1:9/none", retries=1, timeout=0.5)
    assert (result.status, result.attempts) == (0, 2)


async def test_wrong_key_override_is_rejected_by_a_real_receiver(sim: WeComSimulator, receiver: Receiver) -> None:
    result = await sim.deliver("<xml/>", token="wrongtoken", retries=0)
    assert result.status == 500
    assert receiver.plaintexts == []


async def test_pinned_timestamp_and_nonce(sim: WeComSimulator, receiver: Receiver) -> None:
    await sim.deliver("<xml/>", timestamp="1000", nonce="42")
    assert receiver.queries[0]["timestamp"] == "1000"
    assert receiver.queries[0]["nonce"] == "42"


async def test_verify_url_round_trip(sim: WeComSimulator, receiver: Receiver) -> None:
    status, body = await sim.verify_url(echo="1288432023552776189")
    assert (status, body) == (200, "1288432023552776189")
    status, body = await sim.verify_url()
    assert (status, body) == (200, sim.last_echo)


async def test_passive_reply_is_decrypted_and_logged(sim: WeComSimulator, receiver: Receiver) -> None:
    receiver.reply = (
        "<xml><ToUserName><![CDATA[lina]]></ToUserName><FromUserName><![CDATA[wwsimcorp0001]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到]]></Content></xml>"
    )
    result = await sim.send_text("lina", "hi")
    assert result.reply is not None and "收到" in result.reply
    sent = await sim.wait_for_message(to="lina", contains="收到", timeout=1)
    assert sent.channel == "passive"


async def test_garbage_200_body_is_reported(sim: WeComSimulator, receiver: Receiver) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="success")

    app = web.Application()
    app.router.add_post("/cb", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        result = await sim.deliver("<xml/>", url=f"http://{host}:{port}/cb")
    finally:
        await runner.cleanup()
    assert result.status == 200 and result.reply is None and result.reply_error


async def test_image_location_and_events(sim: WeComSimulator, receiver: Receiver) -> None:
    await sim.send_image("liuyang", b"\xff\xd8\xff\xe0fake-jpeg-bytes", filename="发票.jpg")
    await sim.send_location_report("liuyang", 31.2304, 121.4737)
    await sim.send_event("liuyang", "enter_agent")
    await sim.send_event("liuyang", "click", EventKey="menu_expense")
    image, location, enter, click = (fields(p) for p in receiver.plaintexts)
    assert image["MsgType"] == "image" and sim.media_valid(image["MediaId"])
    assert image["PicUrl"].startswith(sim.base_url)
    assert (location["Event"], location["Latitude"], location["Longitude"]) == ("LOCATION", "31.2304", "121.4737")
    assert (enter["Event"], enter["EventKey"]) == ("enter_agent", "")
    assert (click["Event"], click["EventKey"]) == ("click", "menu_expense")


@pytest.fixture
async def contact_receiver(sim: WeComSimulator) -> AsyncIterator[Receiver]:
    sim.contact_token = "contacttoken"
    sim.contact_aes_key = "ContactAesKey0123456789abcdefghijklmnopqrst"
    recv = Receiver(WeChatCrypto(sim.contact_token, sim.contact_aes_key, sim.corp_id))
    async with recv.serving("/wecom/contacts") as url:
        sim.bot_contact_url = url
        yield recv


async def test_change_contact_uses_contact_keys_and_org_state(sim: WeComSimulator,
                                                              contact_receiver: Receiver) -> None:
    sim.add_user("newbie", "新人", [3], direct_leader=["wangfang"], position="实习生")
    result = await sim.change_contact("create_user", UserID="newbie")
    assert result.status == 200
    event = fields(contact_receiver.plaintexts[0])
    assert (event["FromUserName"], event["Event"], event["ChangeType"]) == ("sys", "change_contact", "create_user")
    assert (event["UserID"], event["Name"], event["Department"], event["DirectLeader"]) == (
        "newbie", "新人", "3", "wangfang")
    sim.update_user("newbie", departments=[3, 2], leader_in=[2])
    await sim.change_contact("update_user", UserID="newbie")
    updated = fields(contact_receiver.plaintexts[1])
    assert (updated["Department"], updated["IsLeaderInDept"]) == ("3,2", "0,1")
    assert "newbie" in sim.org.departments[2].leaders
    sim.remove_user("newbie")
    await sim.change_contact("delete_user", UserID="newbie")
    await sim.change_contact("update_party", Id=3)
    await sim.change_contact("update_tag", TagId=1, AddUserItems=["sunli", "zhaolei"])
    deleted, party, tag = (fields(p) for p in contact_receiver.plaintexts[2:])
    assert deleted == {**{k: deleted[k] for k in ("ToUserName", "CreateTime")}, "FromUserName": "sys",
                       "MsgType": "event", "Event": "change_contact", "ChangeType": "delete_user",
                       "UserID": "newbie"}
    assert (party["Id"], party["Name"], party["ParentId"]) == ("3", "前端组", "2")
    assert (tag["TagId"], tag["AddUserItems"]) == ("1", "sunli,zhaolei")
    assert all("<AgentID>" not in body for body in contact_receiver.bodies)
    assert await sim.verify_url(contact=True, echo="42") == (200, "42")


async def test_change_contact_via_app_uses_app_keys(sim: WeComSimulator, receiver: Receiver) -> None:
    sim.contact_token = "othertoken"
    await sim.change_contact("delete_party", via="app", Id=4)
    event = fields(receiver.plaintexts[0])
    assert (event["ChangeType"], event["Id"], event["AgentID"]) == ("delete_party", "4", str(sim.agent_id))
    assert f"<AgentID><![CDATA[{sim.agent_id}]]></AgentID>" in receiver.bodies[0]
