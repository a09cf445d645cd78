"""Admin commands over the inbox: items whose handling failed are listed and can be replayed."""

from __future__ import annotations

import re

from tests.world import World


def inbox_status(world: World, item_id: int) -> str:
    return str(world.value("SELECT status FROM inbox WHERE id = ?", (item_id,)))


def audited(world: World, action: str) -> list[str]:
    return [r["subject"] for r in world.rows("SELECT subject FROM audit_log WHERE action = ?", (action,))]


async def test_a_failed_inbox_item_is_listed_and_replayed_by_an_admin(world: World) -> None:
    sim = world.sim
    sim.update_user("sunli", name="孙丽丽")
    sim.fail_next("user/get", 1, errcode=48002)  # WeCom refuses the re-read: the event fails
    await sim.change_contact("update_user", UserID="sunli")
    await world.idle()
    listing = await world.reply_to("xuhui", "处理失败")
    found = re.search(r"#(\d+) contacts/change_contact · sys .*48002", listing)
    assert found, listing
    item_id = int(found.group(1))
    assert inbox_status(world, item_id) == "failed"

    assert "管理员" in await world.reply_to("sunli", f"处理失败 {item_id}")
    assert inbox_status(world, item_id) == "failed"

    assert f"#{item_id}" in await world.reply_to("xuhui", f"处理失败 {item_id}")
    await world.sim.wait_for(lambda: inbox_status(world, item_id) == "done", timeout=5)
    assert world.value("SELECT name FROM users WHERE user_id = 'sunli'") == "孙丽丽"
    assert audited(world, "inbox.replayed") == [f"inbox:{item_id}"]
    assert "不是处理失败" in await world.reply_to("xuhui", f"处理失败 {item_id}")  # done items stay done
