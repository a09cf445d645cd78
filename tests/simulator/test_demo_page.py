"""The demo chat page in a real (headless) Chromium against the simulator and a tiny stub bot."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from defusedxml import ElementTree
from playwright.async_api import Page, expect
from wechatpy.enterprise.crypto import WeChatCrypto

from simulator import WeComSimulator
from simulator.seed import seed_demo_org
from tests.browser import chromium, needs_chromium

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" \
      b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"

pytestmark = needs_chromium


class StubBot:
    """Acks every callback with an empty 200 and answers through the simulator's server API."""

    def __init__(self, sim: WeComSimulator) -> None:
        self.sim = sim
        self.crypto = WeChatCrypto(sim.token, sim.aes_key, sim.corp_id)
        self.session = aiohttp.ClientSession()
        self.token = ""
        self.tasks: set[asyncio.Task[None]] = set()
        self.counter = itertools.count(1)

    async def callback(self, request: web.Request) -> web.Response:
        q = request.query
        plain = self.crypto.decrypt_message(await request.text(), q["msg_signature"], q["timestamp"], q["nonce"])
        fields = {c.tag: (c.text or "") for c in ElementTree.fromstring(plain)}
        task = asyncio.create_task(self.answer(fields))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return web.Response(text="")

    async def call(self, path: str, body: dict) -> dict:
        if not self.token:
            url = f"{self.sim.base_url}/cgi-bin/gettoken"
            params = {"corpid": self.sim.corp_id, "corpsecret": self.sim.secret}
            async with self.session.get(url, params=params) as resp:
                self.token = (await resp.json())["access_token"]
        url = f"{self.sim.base_url}/cgi-bin/{path}"
        async with self.session.post(url, params={"access_token": self.token}, json=body) as resp:
            data = await resp.json()
        assert data["errcode"] == 0, data
        return data

    async def send(self, userid: str, msgtype: str, body: dict) -> None:
        await self.call("message/send", {"touser": userid, "agentid": self.sim.agent_id, "msgtype": msgtype,
                                         msgtype: body})

    async def answer(self, f: dict[str, str]) -> None:
        user = f["FromUserName"]
        if f["MsgType"] == "text" and f["Content"] == "审批":
            card = {"card_type": "button_interaction", "task_id": f"demo_{next(self.counter)}",
                    "main_title": {"title": "报销审批", "desc": "刘洋 · 打车费"},
                    "horizontal_content_list": [{"keyname": "金额", "value": "¥35.50"}],
                    "button_list": [{"text": "同意", "style": 1, "key": "approve"},
                                    {"text": "驳回", "style": 2, "key": "reject"}]}
            await self.send(user, "template_card", card)
        elif f["MsgType"] == "text":
            await self.send(user, "markdown", {"content": f"**收到**：{f['Content']}"})
            await self.call("appchat/send", {"chatid": "rd-group", "msgtype": "text",
                                             "text": {"content": f"{user} 刚刚说了话"}})
        elif f["MsgType"] == "image":
            await self.send(user, "text", {"content": f"发票图片已收到（{f['MediaId'][:9]}）"})
        elif f.get("Event") == "template_card_event":
            label = "已同意" if f["EventKey"] == "approve" else "已驳回"
            await self.call("message/update_template_card", {
                "agentid": self.sim.agent_id, "response_code": f["ResponseCode"], "userids": [user],
                "button": {"replace_name": label}})
            await self.send(user, "text", {"content": f"审批结果：{label}"})


@pytest.fixture
async def demo_sim() -> AsyncIterator[WeComSimulator]:
    sim = WeComSimulator()
    seed_demo_org(sim)
    await sim.start()
    bot = StubBot(sim)
    app = web.Application()
    app.router.add_post("/wecom/callback", bot.callback)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    sim.bot_callback_url = f"http://{host}:{port}/wecom/callback"
    sim.bot_public_url = f"http://{host}:{port}"
    yield sim
    await runner.cleanup()
    await bot.session.close()
    await sim.stop()


@pytest.fixture
async def page(demo_sim: WeComSimulator) -> AsyncIterator[Page]:
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1100, "height": 800})
        page = await context.new_page()
        await page.goto(f"{demo_sim.base_url}/demo/")
        yield page


async def test_chat_round_trip_upload_and_group_panel(demo_sim: WeComSimulator, page: Page, tmp_path: Path) -> None:
    await page.select_option("#who", "liuyang")
    await page.fill("#text", "你好 机器人")
    await page.click("button.send")
    await expect(page.locator("#timeline .row.in .bubble")).to_have_text("你好 机器人")
    await expect(page.locator("#timeline .row.out .md b")).to_have_text("收到")
    await expect(page.locator("#timeline .row.out .md")).to_contain_text("你好 机器人")
    await expect(page.locator("#group-list")).to_contain_text("liuyang 刚刚说了话")
    await expect(page.locator("#pdf-link")).to_have_attribute("href", f"{demo_sim.bot_public_url}/h5/upload")
    await expect(page.locator("#workbench-link")).to_have_attribute(
        "href", f"{demo_sim.bot_public_url}/h5/logout?next=/h5/mine")
    assert "sim_user=liuyang" in await page.evaluate("document.cookie")
    image = tmp_path / "发票.png"
    image.write_bytes(PNG)
    await page.set_input_files("#image", str(image))
    await expect(page.locator("#timeline")).to_contain_text("发票图片已收到（sim-image）")
    sent = demo_sim.messages_to("liuyang")
    assert [m.msgtype for m in sent] == ["markdown", "text"]


async def test_card_click_greys_the_button(demo_sim: WeComSimulator, page: Page) -> None:
    await page.select_option("#who", "lina")
    await page.fill("#text", "审批")
    await page.press("#text", "Enter")
    card = page.locator("#timeline .card")
    await expect(card.locator(".title")).to_have_text("报销审批")
    await expect(card).to_contain_text("¥35.50")
    await card.locator("button", has_text="同意").click()
    await expect(page.locator("#timeline")).to_contain_text("审批结果：已同意")
    done = card.locator("button.done")
    await expect(done).to_have_text("已同意")
    await expect(done).to_be_disabled()
    await expect(card.locator("button", has_text="驳回")).to_have_count(0)
    task = next(iter(demo_sim.cards.values()))
    assert task.view("lina").replace_name == "已同意"
    assert [c.key for c in task.clicks] == ["approve"]
    assert len(task.consumed_codes) == 1


async def test_first_view_suggests_what_to_try(demo_sim: WeComSimulator, page: Page) -> None:
    await expect(page.locator("#timeline")).to_contain_text("像平时说话一样")
    chips = page.locator("#suggest button")
    await expect(chips.first).to_be_visible()
    assert "帮我看看预算" in await chips.all_inner_texts()
    await chips.filter(has_text="帮我看看预算").click()  # before choosing who: nothing is sent
    await expect(page.locator("#status")).to_have_text("请先选择身份")
    await page.select_option("#who", "liuyang")
    await chips.filter(has_text="帮我看看预算").click()
    await expect(page.locator("#timeline .row.in .bubble")).to_have_text("帮我看看预算")
    await expect(page.locator("#timeline .row.out .md")).to_contain_text("帮我看看预算")


async def test_first_view_says_whom_to_pick_and_the_app_menu_taps(demo_sim: WeComSimulator, page: Page) -> None:
    timeline = page.locator("#timeline")
    for who in ("刘洋", "王芳", "吴强", "徐慧", "统计"):
        await expect(timeline).to_contain_text(who)
    async with aiohttp.ClientSession() as session:  # the bot sets its menu at start (menu/create)
        params = {"corpid": demo_sim.corp_id, "corpsecret": demo_sim.secret}
        async with session.get(f"{demo_sim.base_url}/cgi-bin/gettoken", params=params) as resp:
            token = (await resp.json())["access_token"]
        menu = {"button": [{"name": "预算", "sub_button": [{"type": "click", "name": "查预算", "key": "预算"}]}]}
        async with session.post(f"{demo_sim.base_url}/cgi-bin/menu/create", json=menu,
                                params={"access_token": token, "agentid": demo_sim.agent_id}) as resp:
            assert (await resp.json())["errcode"] == 0
    await page.reload()
    await page.select_option("#who", "liuyang")
    await page.locator("#appmenu > button", has_text="预算").click()
    await page.locator("#appmenu .sub button", has_text="查预算").click()
    await expect(page.locator("#appmenu .sub")).to_have_count(0)
    delivered = await demo_sim.wait_for(lambda: [x for _, x, _ in demo_sim.deliveries if "click" in x])
    assert "<EventKey><![CDATA[预算]]></EventKey>" in delivered[-1] and "liuyang" in delivered[-1]
