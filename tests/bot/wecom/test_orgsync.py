"""Org chart mirrored from WeCom: start-up sync, contact events on both callbacks, people who leave."""

from __future__ import annotations

import asyncio
import re

from tests.world import World


def user_row(world: World, user_id: str) -> tuple[str, int] | None:
    found = world.rows("SELECT name, status FROM users WHERE user_id = ?", (user_id,))
    return (found[0]["name"], found[0]["status"]) if found else None


def leaders(world: World, dept: int) -> list[str]:
    rows = world.rows("SELECT user_id FROM user_departments WHERE department_id = ? AND is_leader = 1", (dept,))
    return sorted(r["user_id"] for r in rows)


async def test_start_up_sync_mirrors_departments_users_leaders_and_tags(world: World) -> None:
    departments = {r["id"]: r["parent_id"] for r in world.rows("SELECT id, parent_id FROM departments")}
    tags = [(r["name"], r["user_id"]) for r in world.rows(
        "SELECT t.name, tu.user_id FROM tags t JOIN tag_users tu ON tu.tag_id = t.id ORDER BY t.id")]
    assert departments == {1: 0, 2: 1, 3: 2, 4: 1, 5: 1}
    assert user_row(world, "liuyang") == ("刘洋", 1)
    assert leaders(world, 3) == ["wangfang"]
    assert tags == [("财务审核", "wuqiang"), ("财务管理员", "xuhui")]


async def test_a_user_who_quits_loses_rights_at_once(world: World) -> None:
    assert "管理员" not in await world.reply_to("xuhui", "失败消息")
    world.sim.remove_user("xuhui")
    result = await world.sim.change_contact("delete_user", UserID="xuhui")
    assert result.status == 200
    await world.idle()
    assert user_row(world, "xuhui") == ("徐慧", 5)
    await world.say("xuhui", "失败消息")  # WeCom no longer delivers to them; the bot's answer is a refusal
    last = world.value("SELECT body FROM outbound WHERE order_key = 'user:xuhui' ORDER BY id DESC")
    assert "只有财务管理员" in last


async def test_id_only_events_make_the_bot_reread_wecom(world: World) -> None:
    """Newer contact-sync callbacks carry only ids; what WeCom says now is what counts."""
    world.sim.update_user("sunli", name="孙丽丽", status=2)
    await world.sim.change_contact("update_user", via="app", UserID="sunli", Name="", Status="")
    await world.idle()
    assert user_row(world, "sunli") == ("孙丽丽", 2)

    world.sim.add_department(6, "海外市场部", 4)
    world.sim.add_user("tom", "Tom", [6], leader_in=[6])
    await world.sim.change_contact("create_party", Id=6)
    await world.sim.change_contact("create_user", UserID="tom")
    await world.idle()
    assert user_row(world, "tom") == ("Tom", 1)
    assert leaders(world, 6) == ["tom"]


async def test_periodic_full_sync_catches_what_events_missed(world: World) -> None:
    world.sim.remove_user("chenjing")
    world.sim.add_user("newbie", "新人", [2])
    world.clock.advance(world.settings.bot_org_sync_minutes * 60 + 1)  # type: ignore[union-attr]
    await world.bot.scheduler.tick()
    await world.sim.wait_for(lambda: user_row(world, "newbie") is not None, timeout=5)
    await world.idle()
    assert user_row(world, "chenjing") == ("陈静", 5)
    internal = world.rows("SELECT status FROM inbox WHERE msg_type = 'internal' AND user_id = 'chenjing'")
    assert internal == [{"status": "done"}]


async def test_contact_callback_with_its_own_keys(bare_world: World) -> None:
    world = bare_world
    world.sim.contact_token = "contacttoken"
    world.sim.contact_aes_key = "C" * 43
    await world.start_bot(wecom_contact_token="contacttoken", wecom_contact_aes_key="C" * 43)
    world.sim.update_user("liuyang", name="刘洋洋")
    assert (await world.sim.change_contact("update_user", UserID="liuyang")).status == 200
    await world.idle()
    assert user_row(world, "liuyang") == ("刘洋洋", 1)
    # the app's own keys are not accepted on the contact-sync URL
    result = await world.sim.deliver(
        "<xml><ToUserName>x</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>event</MsgType><Event>change_contact</Event><ChangeType>delete_user</ChangeType>"
        "<UserID>liuyang</UserID></xml>",
        url=world.sim.bot_contact_url,
        retries=0,
    )
    assert result.status == 403


async def test_a_full_sync_does_not_undo_a_contact_event_handled_while_it_read(world: World) -> None:
    sim = world.sim
    sim.fail_next("tag/list", 1, delay=0.5)  # the sync has read the users and still reads the tags
    sync = asyncio.create_task(world.bot.orgsync.full_sync())
    await sim.wait_for(lambda: sim.calls["tag/list"] >= 2, timeout=5)
    sim.update_user("sunli", status=2)  # disabled in WeCom after the sync read her as active
    await sim.change_contact("update_user", UserID="sunli")
    await world.idle()
    assert user_row(world, "sunli") == ("孙丽", 2)
    await sync
    assert user_row(world, "sunli") == ("孙丽", 2)  # the older snapshot did not re-activate her


async def test_a_sync_that_would_deactivate_too_many_waits_for_an_admin(world: World) -> None:
    sim = world.sim
    leaving = ["chenjing", "sunli", "zhaolei", "liuyang", "zhoumin"]  # half the company vanishes:
    for user in leaving:  # what a visibility scope cut by mistake looks like
        sim.remove_user(user)
    after = len(sim.messages)
    counts = await world.bot.orgsync.full_sync()
    assert counts["held"] and counts["deactivated"] == 0
    assert [user_row(world, u)[1] for u in leaving] == [1, 1, 1, 1, 1]  # nothing changed
    alert = await sim.wait_for_message(to="xuhui", contains="确认同步", after=after)
    hold = re.search(r"确认同步 (\d+)", alert.text()).group(1)  # type: ignore[union-attr]
    assert "5 人" in alert.text() and "陈静" in alert.text()
    again = await world.bot.orgsync.full_sync()  # the next periodic sync is held by the same question
    await world.idle()
    assert again["held"] == int(hold) and len(sim.find_messages(to="xuhui", contains="确认同步", after=after)) == 1

    assert "管理员" in await world.reply_to("lina", f"确认同步 {hold}")
    assert user_row(world, "sunli") == ("孙丽", 1)
    assert "正在重新同步" in await world.reply_to("xuhui", f"确认同步 {hold}")
    await sim.wait_for(lambda: all(user_row(world, u)[1] == 5 for u in leaving), timeout=5)
    await world.idle()
    actions = [r["action"] for r in world.rows("SELECT action FROM audit_log WHERE action LIKE 'org.sync%' ORDER BY id")]
    status = world.value("SELECT status FROM org_sync_holds WHERE id = ?", (int(hold),))
    assert actions == ["org.sync_held", "org.sync_confirmed"] and status == "applied"
    assert "没有等待确认" in await world.reply_to("xuhui", f"确认同步 {hold}")
