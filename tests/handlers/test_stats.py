"""`统计` in chat agrees with the data: every figure of a known set, and who may see what."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image

from simulator.cards import CardNotClickable
from simulator.invoice_art import render_invoice_png, sample_fields
from tests.bot.wecom.test_sender import drive_retries
from tests.handlers.approval_helpers import db_rows
from tests.handlers.insight_helpers import KnownSet, at, paid_world, play_known_set, record_figure_threads
from tests.world import World

__all__ = ["paid_world"]


async def test_every_figure_of_a_known_set(paid_world: World) -> None:
    w = paid_world
    known: KnownSet = await play_known_set(w)
    w.clock.set(at(15))
    sent = db_rows(w, "SELECT COUNT(*) FROM outbound")[0][0]
    text = await w.reply_to("xuhui", "统计", contains="📊")
    assert text.splitlines() == [
        "📊 统计 2026-11（全公司）",
        "报销：提交 3 笔 ¥2,300.00；通过 1 笔 ¥1,200.00；驳回 1 笔 ¥800.00；撤回 0 笔；付款 1 笔 ¥1,200.00",
        "审批用时（自然时间）：",
        "• 每步：平均 2小时0分，中位 2小时0分，P90 3小时0分（3 次）",
        "• 全程：平均 3小时0分，中位 3小时0分，P90 4小时0分（2 次）",
        "最慢的步骤（平均）：财务审核 3小时0分；部门负责人 1小时30分",
        "待审批最多：赵磊 1 笔（最久 5小时0分）",
        f"⏳ {known.c} 赵磊（部门负责人）¥300.00 已等 5小时0分",
        f"消息送达率 100.0%（发出 {sent}，其中重试 0；搁置 0，被拒收 0，排队中 0）",
        "发票识别成功率 —（0 次，提交 0，原样提交 0；更正：无）",
        "对话完成率 75.0%（开始 4，完成 3，取消 1，超时 0）",
        "反馈 1 条；评价 1 次，平均 3.00/3",
    ]
    # the rating card took one tap and shows it; a second tap is not possible
    card = next(c for t, c in w.sim.cards.items() if t.startswith(f"rate-{known.a}"))
    assert card.view("liuyang").replace_name == "已评价：满意"
    with pytest.raises(CardNotClickable):
        await w.sim.click_card("liuyang", card.task_id, f"rate:1:{known.a}")
    assert db_rows(w, "SELECT number, score FROM ratings") == [(known.a, 3)]


async def test_leaders_see_their_departments_and_employees_are_refused(paid_world: World) -> None:
    w = paid_world
    await play_known_set(w)
    w.clock.set(at(15))
    mine = (await w.reply_to("wangfang", "统计", contains="📊")).splitlines()
    assert mine[:2] == ["📊 统计 2026-11（前端组）",
                        "报销：提交 2 笔 ¥2,000.00；通过 1 笔 ¥1,200.00；驳回 1 笔 ¥800.00；撤回 0 笔；付款 1 笔 ¥1,200.00"]
    assert not any(line.startswith(("待审批最多", "⏳", "消息送达率")) for line in mine)  # C is 市场部's; no delivery
    assert "对话完成率 100.0%（开始 2，完成 2，取消 0，超时 0）" in mine
    refused = await w.reply_to("wangfang", "统计 市场部", contains="统计")
    assert refused == "你只能查看你负责的部门（及其下级部门）的统计。"
    assert await w.reply_to("sunli", "统计", contains="统计") == "统计只对财务人员和部门负责人开放。"
    above = (await w.reply_to("lina", "统计 前端组 本月", contains="📊")).splitlines()
    assert above[:2] == mine[:2]
    # free text, with a period in words: last month had nothing
    empty = (await w.reply_to("zhaolei", "上个月大家报销了多少", contains="📊")).splitlines()
    assert empty[:2] == ["📊 统计 2026-10（市场部）",
                         "报销：提交 0 笔 ¥0.00；通过 0 笔 ¥0.00；驳回 0 笔 ¥0.00；撤回 0 笔；付款 0 笔 ¥0.00"]
    unknown = await w.reply_to("xuhui", "统计 采购部", contains="既不是部门")
    assert "采购部" in unknown


async def test_invoice_reading_figures_count_reads_and_corrections(world: World) -> None:
    w = world
    png = render_invoice_png(sample_fields(5))
    await w.reply_to("liuyang", "报销 差旅", contains="金额")
    after = len(w.sim.messages)
    await w.sim.send_image("liuyang", png)
    await w.sim.wait_for_message(to="liuyang", contains="已识别发票", after=after, timeout=120)
    await w.reply_to("liuyang", "修改 金额 300", contains="300")
    await w.reply_to("liuyang", "确认", contains="已提交报销")
    after = len(w.sim.messages)
    await w.sim.send_image("liuyang", blank_png())
    await w.sim.wait_for_message(to="liuyang", contains="没能从文件中识别出发票", after=after, timeout=120)
    lines = (await w.reply_to("xuhui", "统计", contains="📊")).splitlines()
    assert "发票识别成功率 50.0%（2 次，提交 1，原样提交 0；更正：金额 1）" in lines
    assert db_rows(w, "SELECT outcome, corrected FROM invoice_reads ORDER BY id") == [
        ("read", '["total"]'), ("unreadable", None)]


def blank_png() -> bytes:
    image = Image.new("RGB", (400, 300), "white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_withdrawals_timeouts_retries_and_parked_messages_are_counted(world: World) -> None:
    w = world
    w.sim.fail_next("message/send", 1, errcode=-1)  # busy once: the reply goes out on the second try
    await w.say("sunli", "帮助")
    await drive_retries(w, lambda: len(w.sim.messages_to("sunli")) == 1)
    w.sim.fail_next("message/send", 1, errcode=60011)  # refused for good: parked
    await w.say("zhaolei", "帮助")
    await w.sim.wait_for(lambda: ("failed",) in db_rows(w, "SELECT status FROM outbound"), timeout=10)
    await w.reply_to("liuyang", "报销 100 交通 今天 打车", contains="确认")
    number = re.search(r"BX\d{8}-\d{4}", await w.reply_to("liuyang", "确认", contains="已提交报销")).group(0)  # type: ignore[union-attr]
    await w.reply_to("liuyang", f"撤回 {number}", contains="撤回")
    await w.reply_to("chenjing", "报销", contains="金额")
    w.clock.advance(timedelta(minutes=31))  # the open dialog times out
    await w.bot.scheduler.tick()
    await w.idle()
    text = await w.reply_to("xuhui", "统计", contains="📊")
    assert "报销：提交 1 笔 ¥100.00；通过 0 笔 ¥0.00；驳回 0 笔 ¥0.00；撤回 1 笔；付款 0 笔 ¥0.00" in text
    assert re.search(r"其中重试 1；搁置 1，被拒收 0", text)
    assert "（开始 2，完成 1，取消 0，超时 1）" in text


async def test_figures_are_read_off_the_event_loop_in_order_with_the_askers_messages(
    paid_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = paid_world
    await play_known_set(w)
    threads = record_figure_threads(monkeypatch)
    await w.say("xuhui", "统计")
    await w.say("xuhui", "帮助")
    await w.idle()
    w.bot.sender.wake()
    await w.delivered()
    texts = [m.text() for m in w.sim.messages_to("xuhui")]
    stats = next(i for i, t in enumerate(texts) if t.startswith("📊 统计 2026-11（全公司）"))
    assert any("报销" in t for t in texts[stats + 1:])  # the help asked after it came after it
    # on SQLite the figures are read in a thread with a snapshot of their own (PostgreSQL reads on the server)
    assert threads == [w.postgres]
