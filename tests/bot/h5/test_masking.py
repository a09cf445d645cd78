"""Masking, one rule at a time, on pages and messages: tax ids `****1234` except for finance roles, the
invoice original only to its audiences, group chats and robots told totals and percentages only
(the weekly digest's group rule is in tests/handlers/test_digest.py)."""

from __future__ import annotations

import re
from pathlib import Path

from simulator.invoice_art import render_invoice_pdf, sample_fields
from tests.bot.finance.finance_support import TOKEN, api
from tests.bot.h5.h5_support import browser, login, upload
from tests.bot.h5.workbench_support import Phone
from tests.handlers.approval_helpers import file_expense
from tests.world import World

FIELDS = sample_fields(11)
BUYER, SELLER = FIELDS["buyer_tax_id"], FIELDS["seller_tax_id"]


async def _filed_from_pdf(world: World) -> str:
    async with browser() as session:
        csrf = await login(session, world, "liuyang")
        assert (await upload(session, world, csrf, render_invoice_pdf(FIELDS)))[0] == 200
    await world.sim.wait_for_message(to="liuyang", contains="已识别发票", timeout=30)
    await world.reply_to("liuyang", "办公")
    done = await world.reply_to("liuyang", "确认", contains="已提交报销")
    match = re.search(r"BX\d{8}-\d{4}", done)
    assert match is not None
    return match.group(0)


async def _views(world: World, user: str, number: str) -> tuple[int, str, int, bytes]:
    async with Phone(world, user) as phone:
        status, page = await phone.open(f"/h5/expenses/{number}")
        async with phone.http.get(f"{world.url}/h5/expenses/{number}/invoice") as resp:
            return status, page, resp.status, await resp.read()


async def test_tax_ids_masked_except_for_finance_and_the_original_only_to_its_audience(world: World) -> None:
    number = await _filed_from_pdf(world)
    for user in ("liuyang", "wangfang"):  # the submitter and an approver: masked ids, the original shown
        status, page, invoice, data = await _views(world, user, number)
        assert status == 200 and FIELDS["seller_name"] in page
        assert BUYER not in page and SELLER not in page and f"****{SELLER[-4:]}" in page
        assert 'class="invoice"' in page and invoice == 200 and data.startswith(b"%PDF")
    status, page, invoice, data = await _views(world, "wuqiang", number)  # finance reads them in full
    assert status == 200 and BUYER in page and SELLER in page and invoice == 200
    status, page, invoice, data = await _views(world, "sunli", number)  # nobody of this expense: nothing
    assert status == 404 and invoice == 404 and not data.startswith(b"%PDF") and FIELDS["seller_name"] not in page
    card = await world.sim.wait_for_message(to="wangfang", msgtype="template_card", contains=number)
    text = str(card.payload)
    assert BUYER not in text and SELLER not in text  # the approval card never carries an id either
    invoice = next(f["value"] for f in card.payload["horizontal_content_list"] if f["keyname"] == "发票")
    assert invoice == f"{FIELDS['seller_name']} · {FIELDS['issue_date']} · ¥102,377.40"


async def test_rules_narrow_the_invoice_audience_and_can_show_ids(bare_world: World, tmp_path: Path) -> None:
    world = bare_world
    rules = tmp_path / "rules.toml"
    rules.write_text('[masking]\ninvoice_viewers = ["submitter", "finance"]\naccounts = "full"\n', encoding="utf-8")
    await world.start_bot(bot_rules=rules)
    number = await _filed_from_pdf(world)
    status, page, invoice, _ = await _views(world, "wangfang", number)
    assert status == 200 and 'class="invoice"' not in page and invoice == 404  # the approver: fields, no original
    assert SELLER in page  # ids in full, as this deployment chose
    status, page, invoice, _ = await _views(world, "liuyang", number)
    assert 'class="invoice"' in page and invoice == 200


async def test_group_chats_and_robots_get_totals_and_percentages_only(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    month = world.clock.now().strftime("%Y-%m")
    status, _ = await api(world, "PUT", "/api/v1/budgets/fe", {
        "department_id": 3, "period": month, "amount": "1000", "owner": "wangfang", "alert_chat_id": "rd-group",
        "robot_key": "demo-robot-key", "thresholds": [80]})
    assert status == 201
    number = await file_expense(world, "liuyang", "900", "办公", "显示器")
    await world.reply_to("wangfang", f"同意 {number}", contains=number)
    await world.reply_to("wuqiang", f"同意 {number}", contains=number)
    await world.delivered()
    group = [m.text() for m in world.sim.messages if m.chatid == "rd-group" or m.channel == "webhook"]
    assert len(group) == 2 and all("90.0%" in t and "已用 900.00" in t for t in group)
    for text in group:
        assert number not in text and "刘洋" not in text and "显示器" not in text and "刘" not in text
