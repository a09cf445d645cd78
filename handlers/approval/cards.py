"""The approval card an approver gets: what to decide on, and 同意 / 驳回 buttons keyed by the number."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal
from typing import Any

from chat.context import Context
from chat.render import plain
from handlers.approval.model import MODE_LABEL, Route
from handlers.budget_view import remaining_after
from storage.expenses import Expense, ExpenseRepo
from storage.org import OrgRepo

_TASK_CHARS = re.compile(r"[^0-9A-Za-z_\-@]")
APPROVE, REJECT = "approve:", "reject:"


def new_task_id(number: str, step: int, user_id: str) -> str:
    """Unique forever and within WeCom's task_id alphabet and length."""
    safe_user = _TASK_CHARS.sub("_", user_id)[:64]
    return f"{number}-s{step}-{safe_user}-{secrets.token_hex(4)}"


def money(amount: Decimal | None) -> str:
    return "—" if amount is None else f"¥{amount:,.2f}"


def invoice_summary(expense: Expense) -> str:
    """Who issued the invoice and when, and its total written out in full (never `¥40033.0`)."""
    inv = expense.invoice
    if not inv:
        return "无发票"
    parts = [str(inv[k]) for k in ("seller_name", "issue_date") if inv.get(k)]
    if inv.get("total") not in (None, ""):
        parts.append(money(Decimal(str(inv["total"]))))
    if len(expense.invoice_lines or ()) > 1:
        parts.append(f"等 {len(expense.invoice_lines or ())} 张")
    return " · ".join(parts) if parts else "有发票"


async def policy_warnings(ctx: Context, expense: Expense) -> list[str]:
    """The policy findings shown when the expense was filed (kept on its `submitted` event)."""
    for event in await ctx.repo(ExpenseRepo).timeline(expense.id):
        if event.action == "submitted":
            return [str(w) for w in event.data.get("warnings", [])]
    return []


async def approval_card(
    ctx: Context, expense: Expense, route: Route, step_index: int, task_id: str, progress: str = ""
) -> dict[str, Any]:
    """A fresh button_interaction card for one approver of the current step."""
    org = ctx.repo(OrgRepo)
    names = await org.names([expense.submitter])
    dept = await org.department(expense.department_id)
    step = route.steps[step_index]
    remaining = await remaining_after(ctx, expense)
    mode = MODE_LABEL[step.mode][0]
    desc = f"第{step_index + 1}/{len(route.steps)}步 {step.name}（{mode}）"
    if progress:
        desc = f"{desc} · {progress}"
    warnings = await policy_warnings(ctx, expense)
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": "财务助手 · 报销审批", "desc_color": 2 if warnings else 0},
        "main_title": {"title": f"报销审批 {expense.number}", "desc": desc},
        "sub_title_text": plain(expense.description) or expense.category,
        "horizontal_content_list": [
            {"keyname": "申请人", "value": f"{names.get(expense.submitter, expense.submitter)}"
                                          f"（{dept.name if dept else expense.department_id}）"},
            {"keyname": "金额", "value": money(expense.amount)},
            {"keyname": "类别 · 日期", "value": f"{expense.category} · {expense.expense_date.isoformat()}"},
            {"keyname": "发票", "value": invoice_summary(expense)},
            {"keyname": "预算余额", "value": "未设预算" if remaining is None else f"{money(remaining)}（本单后）"},
            {"keyname": "政策提示", "value": f"⚠️ {len(warnings)} 条" if warnings else "无"},
        ],
        "card_action": {"type": 1, "url": detail_url(ctx, expense.number)},
        "jump_list": [{"type": 1, "title": "查看详情", "url": detail_url(ctx, expense.number)}],
        "task_id": task_id,
        "button_list": [
            {"text": "同意", "style": 1, "key": f"{APPROVE}{expense.number}"},
            {"text": "驳回", "style": 2, "key": f"{REJECT}{expense.number}"},
        ],
    }
    if warnings:
        card["quote_area"] = {"type": 0, "title": "⚠️ 政策提示", "quote_text": "\n".join(plain(w) for w in warnings)}
    return card


def with_first_hint(card: dict[str, Any], number: str) -> dict[str, Any]:
    """The first approval card a person ever gets says how to decide, in one line."""
    hint = f"💡 点「同意」或「驳回」即可；也可以回复「同意 {number}」或「驳回 {number} 理由」。"
    return {**card, "sub_title_text": f"{card.get('sub_title_text') or ''}\n{hint}".strip()}


def detail_url(ctx: Context, number: str) -> str:
    return f"{ctx.settings.public_url}/h5/expenses/{number}"

