"""The async WeCom client and the outbound sender against the simulator's real API."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.wecom.client import BadSecret, RateLimited, WeComClient
from tests.bot.h5.workbench_support import Phone, sealed_login, verify_link
from tests.world import World


def outbound_rows(world: World) -> list[tuple[str, int, str | None]]:
    found = world.rows("SELECT status, attempts, last_error FROM outbound ORDER BY id")
    return [(r["status"], r["attempts"], r["last_error"]) for r in found]


async def test_token_is_fetched_once_under_concurrency_and_cached(world: World) -> None:
    client = WeComClient(world.sim.base_url, world.sim.corp_id, world.sim.secret)
    async with client:
        before = world.sim.calls["gettoken"]
        tokens = await asyncio.gather(*(client.token() for _ in range(20)))
        assert len(set(tokens)) == 1
        await client.list_departments()
        assert world.sim.calls["gettoken"] == before + 1


async def test_token_expiry_mid_run_refreshes_once(world: World) -> None:
    await world.reply_to("liuyang", "帮助")
    fetched = world.sim.calls["gettoken"]
    world.sim.expire_tokens()
    await world.reply_to("liuyang", "帮助")
    assert world.sim.calls["gettoken"] == fetched + 1
    assert await world.delivered() == ["sent", "sent"]


async def test_send_failing_twice_then_succeeding_is_delivered_once(world: World) -> None:
    world.sim.fail_next("message/send", 2, errcode=-1)
    text = await world.reply_to("sunli", "help")
    assert "expense" in text
    assert await world.delivered() == ["sent"]
    assert len(world.sim.messages_to("sunli")) == 1


async def test_server_errors_are_retried(world: World) -> None:
    world.sim.fail_next("message/send", 1, http_status=502)
    await world.reply_to("sunli", "帮助")
    assert len(world.sim.messages_to("sunli")) == 1


async def test_rate_limit_waits_for_the_window_then_delivers(world: World) -> None:
    world.sim.fail_next("message/send", 1, errcode=45009)
    after = len(world.sim.messages)
    await world.say("sunli", "帮助")
    await world.sim.wait_for(lambda: outbound_rows(world)[-1][1] == 1, timeout=5)
    status, _, error = outbound_rows(world)[-1]
    assert status == "pending" and "45009" in (error or "")
    assert world.sim.messages_to("sunli") == []
    world.clock.advance(61)
    world.bot.sender.wake()
    await world.sim.wait_for_message(to="sunli", after=after)
    assert await world.delivered() == ["sent"]


async def test_bad_secret_is_a_clear_error_not_a_refresh_loop(world: World) -> None:
    client = WeComClient(world.sim.base_url, world.sim.corp_id, "wrong-secret")
    async with client:
        with pytest.raises(BadSecret, match="WECOM_SECRET"):
            await client.send_message({"touser": "liuyang", "msgtype": "text", "text": {"content": "x"}})
    assert world.sim.calls["gettoken"] <= 2


async def test_permanent_errors_are_parked_and_visible_to_admins(world: World) -> None:
    world.sim.fail_next("message/send", 1, errcode=81013)
    await world.say("sunli", "帮助")
    await world.sim.wait_for(lambda: outbound_rows(world)[-1][0] == "failed", timeout=5)
    text = await world.reply_to("xuhui", "失败消息")
    assert "81013" in text and "user:sunli" in text
    row_id = re.search(r"#(\d+) message", text).group(1)  # type: ignore[union-attr]
    denied = await world.reply_to("sunli", "失败消息")
    assert "管理员" in denied
    held = await world.reply_to("xuhui", f"失败消息 {row_id}")
    assert "二次验证" in held  # re-sending is confirmed on the H5 page first (the default rules)
    async with Phone(world, "xuhui") as phone:
        status, page = await phone.open(verify_link(held))
        status, page = await phone.post(verify_link(held), {"login": sealed_login(page)})
    assert status == 200 and "重新排队" in page
    await world.sim.wait_for(lambda: world.sim.messages_to("sunli"), timeout=5)


async def test_rate_limited_api_is_surfaced(world: World) -> None:
    world.sim.fail_next("department/list", 1, errcode=45009)
    async with WeComClient(world.sim.base_url, world.sim.corp_id, world.sim.secret) as client:
        with pytest.raises(RateLimited):
            await client.list_departments()


async def test_group_chats_and_media_round_trip(world: World) -> None:
    async with WeComClient(world.sim.base_url, world.sim.corp_id, world.sim.secret) as client:
        chat_id = await client.appchat_create("报销群", "lina", ["lina", "liuyang"], chat_id="expensechat1")
        info = await client.appchat_get(chat_id)
        assert (info["name"], sorted(info["userlist"])) == ("报销群", ["lina", "liuyang"])
        await client.appchat_send({"chatid": chat_id, "msgtype": "text", "text": {"content": "hello"}})
        assert world.sim.find_messages(chat=chat_id, contains="hello")
        media_id = await client.media_upload("image", "a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
        data, content_type = await client.media_get(media_id)
        assert data.startswith(b"\x89PNG") and content_type.startswith("image/")
