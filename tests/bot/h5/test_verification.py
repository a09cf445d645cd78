"""Second verification: a 60,000 approval (card or text), re-sending failed messages and marking a payable
paid are held until confirmed on the H5 page after a fresh WeCom login; spent, expired, stale or someone
else's links change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.bot.finance.finance_support import TOKEN, api
from tests.bot.h5.workbench_support import Phone, sealed_login, verify_link
from tests.handlers.approval_helpers import click, db_rows, expense_row, file_expense, wait_card
from tests.world import World, make_world, message_text

pytestmark = pytest.mark.backends("sqlite", "postgres")  # new repository SQL on both

__all__ = ["make_world"]


def decided(world: World, number: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db_rows(
        world, "SELECT approver, status FROM approval_tasks WHERE number = ? AND status <> 'pending' ORDER BY id",
        (number,))]


def audit(world: World, action: str) -> list[str]:
    return [r[0] for r in db_rows(world, "SELECT data FROM audit_log WHERE action = ? ORDER BY id", (action,))]


async def confirm(phone: Phone, link: str) -> tuple[int, str]:
    """Open the link (a fresh login), then press 确认执行 as the page's form does."""
    status, page = await phone.open(link)
    assert status == 200, page
    return await phone.post(link, {"login": sealed_login(page)})


async def test_a_large_approval_by_card_changes_nothing_until_confirmed_after_a_fresh_login(world: World) -> None:
    number = await file_expense(world, "liuyang", "60000", "办公", "服务器")
    card = await wait_card(world, "wangfang", number)
    after = len(world.sim.messages)
    await click(world, "wangfang", card, "approve", number)
    held = message_text(await world.sim.wait_for_message(to="wangfang", contains="二次验证", after=after))
    assert "¥60,000.00" in held and world.url in held
    assert decided(world, number) == [] and expense_row(world, number)["current_step"] == 0  # nothing applied
    link = verify_link(held)
    async with Phone(world, "wangfang") as phone:
        await phone.open("/h5/mine")  # an existing session is not enough ...
        logins = phone.logins
        status, page = await phone.open(link)
        assert phone.logins == logins + 1  # ... the link logs in again
        login = sealed_login(page)
        status, page = await phone.post(link, {"login": login})
        assert status == 200 and f"已同意 {number}" in page
        assert decided(world, number) == [("wangfang", "approved")]
        assert '"verified":true' in audit(world, "expense.approve")[0] and len(audit(world, "verification.confirmed")) == 1
        status, page = await phone.post(link, {"login": login})  # the same link again: spent
        assert status == 410 and "已经用过" in page
        status, page = await phone.open(link)
        assert status == 410 and "已经用过" in page
    assert decided(world, number) == [("wangfang", "approved")] and len(audit(world, "expense.approve")) == 1
    # the card the click came from is closed by the verified decision
    assert await world.sim.wait_for(lambda: world.sim.cards[card.task_id].view("wangfang").replace_name) == "已同意"


async def test_a_large_approval_by_text_expired_stale_or_someone_elses_link_changes_nothing(world: World) -> None:
    number = await file_expense(world, "liuyang", "60000", "办公", "服务器")
    held = await world.reply_to("wangfang", f"同意 {number} 同意采购", contains="二次验证")
    link = verify_link(held)
    async with Phone(world, "sunli") as stranger:
        status, page = await stranger.open(link)
        assert status == 404 and number not in page  # another member learns nothing
    async with Phone(world, "wangfang") as phone:
        status, page = await phone.open(link)
        login = sealed_login(page)
        world.clock.advance(timedelta(minutes=6))  # the login is no longer fresh, the link still valid
        status, page = await phone.post(link, {"login": login})
        assert status == 403 and "重新" in page and decided(world, number) == []
        status, page = await phone.post(link, {"login": login.replace("~", "~0")})  # a forged seal
        assert status == 403 and decided(world, number) == []
        world.clock.advance(timedelta(minutes=5))  # past the link's 10 minutes
        status, page = await phone.open(link)
        assert status == 410 and "已过期" in page
    assert decided(world, number) == [] and audit(world, "verification.confirmed") == []
    held = await world.reply_to("wangfang", f"同意 {number} 同意采购", contains="二次验证")  # a new link works
    async with Phone(world, "wangfang") as phone:
        status, page = await confirm(phone, verify_link(held))
    assert status == 200 and "同意采购" in page and decided(world, number) == [("wangfang", "approved")]


async def test_below_the_limit_and_rejections_need_no_verification(world: World) -> None:
    small = await file_expense(world, "liuyang", "49999.99", "办公", "服务器")
    answer = await world.reply_to("wangfang", f"同意 {small}", contains="已同意")  # not the card still on its way
    assert small in answer and "二次验证" not in answer
    big = await file_expense(world, "liuyang", "60000", "办公", "服务器")
    answer = await world.reply_to("wangfang", f"驳回 {big} 预算不够", contains="已驳回")
    assert big in answer and decided(world, big) == [("wangfang", "rejected")]


async def test_an_admin_resending_a_failed_message_confirms_it_on_the_page(world: World) -> None:
    held = await world.reply_to("xuhui", "失败消息 7", contains="二次验证")
    assert audit(world, "outbound.requeued") == []
    async with Phone(world, "xuhui") as phone:
        status, page = await confirm(phone, verify_link(held))
    assert status == 200 and "#7 不是失败的消息" in page
    assert '"verified":true' in audit(world, "outbound.requeued")[0]


async def test_marking_a_payable_paid_from_its_card_is_confirmed_on_the_page(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    today = world.clock.now().date().isoformat()
    status, _ = await api(world, "PUT", "/api/v1/payables/rent-12", {
        "title": "办公室房租", "amount": "120000.00", "due_date": today, "owner": "zhoumin"})
    assert status in (200, 201)
    await world.bot.scheduler.tick()
    await world.idle()
    card = await world.sim.wait_for_message(to="zhoumin", msgtype="template_card", contains="办公室房租")
    task = card.payload["task_id"]
    after = len(world.sim.messages)
    await world.sim.click_card("zhoumin", task, "payable_paid:rent-12")
    await world.idle()
    held = message_text(await world.sim.wait_for_message(to="zhoumin", contains="二次验证", after=after))
    assert db_rows(world, "SELECT status FROM payables") == [("open",)]
    async with Phone(world, "zhoumin") as phone:
        status, page = await confirm(phone, verify_link(held))
    assert status == 200 and "已付款" in page
    assert db_rows(world, "SELECT status FROM payables") == [("paid",)]
    assert '"verified":true' in audit(world, "payable.paid")[0]
