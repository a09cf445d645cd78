"""The demo page's JSON API (without a browser) and the seeded cast."""

from __future__ import annotations

import aiohttp
from sim_support import Api, Receiver

from simulator import WeComSimulator


async def test_seeded_org_has_a_leader_everywhere(sim: WeComSimulator) -> None:
    org = sim.org
    assert {d.id: d.name for d in org.departments.values()} == {1: "公司", 2: "研发部", 3: "前端组", 4: "市场部",
                                                               5: "财务部"}
    assert all(d.leaders for d in org.departments.values())
    assert org.departments[3].parent_id == 2
    assert org.tags[1].name == "财务审核" and org.tags[2].name == "财务管理员"
    assert set(org.tags[1].users).isdisjoint(org.tags[2].users)
    for user in org.users.values():
        assert all(leader in org.users for leader in user.direct_leader)
    assert "demo-robot-key" in sim.robots and "rd-group" in sim.appchats


async def test_demo_users_and_page(sim: WeComSimulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{sim.base_url}/demo/") as resp:
        assert resp.status == 200 and "财务助手" in await resp.text()
    async with http.get(f"{sim.base_url}/demo/api/users") as resp:
        data = await resp.json()
    assert data["bot_upload_url"] is None
    assert {"userid": "wuqiang", "name": "吴强", "position": "会计", "departments": ["财务部"]} in data["users"]
    sim.bot_public_url = "http://127.0.0.1:8080/"
    async with http.get(f"{sim.base_url}/demo/api/users") as resp:
        assert (await resp.json())["bot_upload_url"] == "http://127.0.0.1:8080/h5/upload"


async def test_demo_send_records_both_sides(sim: WeComSimulator, http: aiohttp.ClientSession, api: Api,
                                            receiver: Receiver) -> None:
    async with http.post(f"{sim.base_url}/demo/api/send", json={"user": "sunli", "text": "余额"}) as resp:
        assert (await resp.json()) == {"status": 200, "attempts": 1}
    assert "<Content><![CDATA[余额]]></Content>" in receiver.plaintexts[0]
    await api.post("message/send", {"touser": "sunli", "agentid": sim.agent_id, "msgtype": "text",
                                    "text": {"content": "本月剩余 ¥1,200.00"}})
    async with http.get(f"{sim.base_url}/demo/api/messages", params={"user": "sunli"}) as resp:
        items = (await resp.json())["items"]
    assert [(i["dir"], i.get("text") or i["payload"]["content"]) for i in items] == [
        ("in", "余额"), ("out", "本月剩余 ¥1,200.00")]
    async with http.post(f"{sim.base_url}/demo/api/send", json={"user": "ghost", "text": "x"}) as resp:
        assert resp.status == 400
    async with http.post(f"{sim.base_url}/demo/api/send", json={"text": "x"}) as resp:
        assert resp.status == 400


async def test_demo_click_on_missing_card_is_conflict(sim: WeComSimulator, http: aiohttp.ClientSession,
                                                      receiver: Receiver) -> None:
    body = {"user": "lina", "task_id": "nope", "key": "approve"}
    async with http.post(f"{sim.base_url}/demo/api/click", json=body) as resp:
        assert resp.status == 409


async def test_demo_chats_lists_groups_and_robots(sim: WeComSimulator, http: aiohttp.ClientSession, api: Api) -> None:
    await api.post("webhook/send", {"msgtype": "markdown", "markdown": {"content": "**日报**"}}, key="demo-robot-key")
    async with http.get(f"{sim.base_url}/demo/api/chats") as resp:
        data = await resp.json()
    assert data["groups"][0]["chatid"] == "rd-group" and "李娜" in data["groups"][0]["members"]
    assert data["robots"][0]["messages"][0]["payload"] == {"content": "**日报**"}


async def test_demo_without_a_bot_says_so(sim: WeComSimulator, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{sim.base_url}/demo/api/send", json={"user": "lina", "text": "在吗"}) as resp:
        assert resp.status == 503 and "机器人未连接" in (await resp.json())["error"]
    assert sim.demo_inputs == []


async def test_demo_upload_accepts_pictures_only(sim: WeComSimulator, http: aiohttp.ClientSession,
                                                 receiver: Receiver) -> None:
    form = aiohttp.FormData()
    form.add_field("user", "liuyang")
    form.add_field("file", b"%PDF-1.7 not a picture", filename="发票.pdf", content_type="application/pdf")
    async with http.post(f"{sim.base_url}/demo/api/upload", data=form) as resp:
        assert resp.status == 400 and "PDF" in (await resp.json())["error"]
    assert receiver.plaintexts == []
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    form = aiohttp.FormData()
    form.add_field("user", "liuyang")
    form.add_field("file", jpeg, filename="fapiao.jpg", content_type="image/jpeg")
    async with http.post(f"{sim.base_url}/demo/api/upload", data=form) as resp:
        assert (await resp.json())["status"] == 200
    assert "<MsgType><![CDATA[image]]></MsgType>" in receiver.plaintexts[0]
    assert sim.demo_inputs[0].kind == "image" and sim.media[sim.demo_inputs[0].media_id].data == jpeg


async def test_sample_invoices_to_try_the_photo_and_pdf_paths(sim: WeComSimulator, http: aiohttp.ClientSession) -> None:
    bodies = []
    for kind, magic in (("png", b"\x89PNG"), ("png", b"\x89PNG"), ("pdf", b"%PDF")):
        async with http.get(f"{sim.base_url}/demo/sample-invoice.{kind}") as resp:
            assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
            body = await resp.read()
        assert body.startswith(magic)
        bodies.append(body)
    assert bodies[0] != bodies[1]  # a new invoice each time, so the duplicate check does not trip
    async with http.get(f"{sim.base_url}/demo/sample-invoice.gif") as resp:
        assert resp.status == 404
