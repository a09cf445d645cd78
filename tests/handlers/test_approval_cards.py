"""The approval card carries what an approver needs: the full amount, the policy warnings, the invoice's
seller and date with its total written out, the budget left after it, and a link to the detail page."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from handlers.approval.cards import invoice_summary
from storage.expenses import Expense
from tests.bot.finance.finance_support import TOKEN, api
from tests.handlers.approval_helpers import wait_card
from tests.world import World

WHEN = datetime(2099, 1, 1, tzinfo=UTC)


async def test_the_card_shows_full_amounts_warnings_budget_and_the_detail_link(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    status, _ = await api(world, "PUT", "/api/v1/budgets/fe", {
        "department_id": 3, "period": "2026-03", "amount": "10000", "owner": "wangfang"})
    assert status == 201
    await world.reply_to("liuyang", "报销 2577.76 办公 2026-03-02 显示器")
    done = await world.reply_to("liuyang", "确认", contains="已提交报销")
    number = done.split("已提交报销 ")[1][:15]
    card = (await wait_card(world, "wangfang", number)).original
    fields = {f["keyname"]: f["value"] for f in card["horizontal_content_list"]}
    assert fields["金额"] == "¥2,577.76" and fields["预算余额"] == "¥7,422.24（本单后）"
    assert fields["类别 · 日期"] == "办公 · 2026-03-02" and fields["政策提示"] == "⚠️ 2 条"
    quote = card["quote_area"]["quote_text"]
    assert "已超过 180 天" in quote and "需要发票" in quote and "¥1,000.00" in quote
    assert card["jump_list"] == [{"type": 1, "title": "查看详情", "url": f"{world.url}/h5/expenses/{number}"}]


def test_the_invoice_line_names_seller_and_date_and_never_cuts_the_total() -> None:
    expense = Expense(
        id=1, number="BX20990101-0001", status="submitted", amount=Decimal("40033"),
        currency="CNY", category="招待", expense_date=date(2099, 1, 1), description="", submitter="u",
        department_id=1, invoice={"seller_name": "某某餐饮有限公司", "issue_date": "2099-01-01", "total": "40033.0"},
        invoice_key=None, file_sha256=None, route=[], current_step=0, created_at=WHEN, updated_at=WHEN,
        submitted_at=None, decided_at=None, paid_at=None, invoice_lines=None)
    assert invoice_summary(expense) == "某某餐饮有限公司 · 2099-01-01 · ¥40,033.00"
    assert invoice_summary(replace(expense, invoice=None)) == "无发票"
    two = replace(expense, invoice_lines=[expense.invoice or {}, {"seller_name": "另一家", "total": "1.00"}])
    assert invoice_summary(two) == "某某餐饮有限公司 · 2099-01-01 · ¥40,033.00 · 等 2 张"
