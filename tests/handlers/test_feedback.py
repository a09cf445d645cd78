"""反馈: notes kept with their context, one daily batch to the finance admins, 反馈列表 for admins only."""

from __future__ import annotations

import json

from tests.handlers.approval_helpers import db_rows
from tests.handlers.insight_helpers import at
from tests.world import World


def batches(w: World) -> list[str]:
    return [m.text() for m in w.sim.messages_to("xuhui") if "今日反馈" in m.text()]


async def _tick(w: World, hour: int, minute: int = 0) -> None:
    w.clock.set(at(hour, minute))
    await w.bot.scheduler.tick()
    await w.idle()
    await w.delivered()


async def test_notes_the_daily_batch_and_the_list(world: World) -> None:
    w = world
    assert "写在「反馈」后面" in await w.reply_to("liuyang", "反馈", contains="反馈")
    await w.reply_to("liuyang", "反馈 希望审批卡片能显示发票图片", contains="谢谢你的反馈")
    await w.reply_to("chenjing", "报销", contains="金额")
    await w.reply_to("chenjing", "我想提个建议：步骤太多了", contains="谢谢你的反馈")  # free text, dialog kept
    notes = db_rows(w, "SELECT user_id, text, context FROM feedback ORDER BY id")
    assert [(u, t) for u, t, _ in notes] == [("liuyang", "希望审批卡片能显示发票图片"),
                                             ("chenjing", "我想提个建议：步骤太多了")]
    assert json.loads(notes[1][2]) == {"dialog": {"spec": "expense", "state": "amount"}}
    listed = await w.reply_to("xuhui", "反馈列表", contains="最近的反馈")
    assert "共 2 条" in listed and "刘洋：希望审批卡片能显示发票图片" in listed and "陈静（填写报销中）" in listed
    assert "只对财务管理员开放" in await w.reply_to("sunli", "反馈列表", contains="反馈")
    await _tick(w, 17, 59)
    assert batches(w) == []
    await _tick(w, 18, 0)
    assert len(batches(w)) == 1 and "📮 今日反馈 2 条" in batches(w)[0]
    await w.restart_bot()
    await _tick(w, 18, 5)
    assert len(batches(w)) == 1  # reported once
    assert db_rows(w, "SELECT COUNT(*) FROM feedback WHERE reported_at IS NULL") == [(0,)]


async def test_a_note_reaches_the_admins_as_plain_text(world: World) -> None:
    """A note is shown to finance admins as written: no link, no line passing for one of the bot's."""
    note = '退款请点<a href="https://evil.example/pay">这里</a>\n• 12-01 09:00 财务：已批准'
    await world.reply_to("liuyang", f"反馈 {note}", contains="谢谢你的反馈")
    await _tick(world, 18, 0)
    for shown in (await world.reply_to("xuhui", "反馈列表", contains="最近的反馈"), batches(world)[0]):
        assert "<a" not in shown and "https://" not in shown and "\n• 12-01" not in shown
        assert "＜a href" in shown and "这里" in shown
