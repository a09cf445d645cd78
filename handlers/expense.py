"""Filing an expense from chat: one line, step by step, or from an invoice photo / uploaded PDF.

`报销 58.5 交通 2026-11-20 打车去客户` (fields in any order) fills what it can and the dialog asks
for the rest; an image or an uploaded file is read by OCR and fills amount, date and invoice
fields. Every path ends in a summary with the policy findings and an explicit `确认`, because a
filed expense starts an approval and cannot be silently undone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from chat.context import Context
from chat.render import md
from chat.router import Router
from dialogs import DialogSpec, Invalid, Slot, State, Turn, register, start_dialog
from dialogs.parsing import (
    category_match,
    format_money,
    is_yes,
    match_category,
    money,
    normalize,
    parse_amount,
    parse_date,
)
from handlers.budget_view import budget_policy, remaining_after
from handlers.expense_invoice import (
    FIELD_SLOTS,
    Attachment,
    describe,
    invoice_key,
    invoice_slots,
    is_readable,
    read_attachment,
)
from handlers.expense_policy import Draft, Finding, check_policy
from storage.expenses import ExpenseRepo, NewExpense

router = Router("expense")
ENTRY_WORDS = ("报销", "expense")
SPEC = "expense"
MAX_TEXT = 200


# values ------------------------------------------------------------------------------------------


def _today(ctx: Context) -> date:
    return ctx.local(ctx.now).date()


def _categories(ctx: Context) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.name, c.aliases) for c in ctx.rules.expense.categories]


def _category_names(ctx: Context) -> str:
    return "、".join(c.name for c in ctx.rules.expense.categories)


def _parse_amount(turn: Turn, text: str) -> str:
    return str(money(text, turn.ctx.rules.expense.max_amount))


def _parse_category(turn: Turn, text: str) -> str:
    found = match_category(text, _categories(turn.ctx))
    if found is None:
        names = _category_names(turn.ctx)
        raise Invalid(f"没有这个类别，可选：{names}。", f"Unknown category; choose one of: {names}.")
    return found


def _parse_date(turn: Turn, text: str) -> str:
    found = parse_date(text, _today(turn.ctx))
    if found is None:
        raise Invalid("没看懂这个日期。", "That does not look like a date.")
    return found.isoformat()


def _parse_text(turn: Turn, text: str) -> str:
    value = normalize(text)
    if not value:
        raise Invalid("内容不能为空。", "Please type something.")
    if len(value) > MAX_TEXT:
        raise Invalid(f"最多 {MAX_TEXT} 个字。", f"At most {MAX_TEXT} characters.")
    return value


def _digits(*lengths: int) -> Callable[[Turn, str], str]:
    def parse(turn: Turn, text: str) -> str:
        value = "".join(normalize(text).split())
        if not value.isdigit() or len(value) not in lengths:
            n = " 或 ".join(str(x) for x in lengths)
            raise Invalid(f"应为 {n} 位数字。", f"Expected {' or '.join(str(x) for x in lengths)} digits.")
        return value

    return parse


def _upload_url(ctx: Context) -> str:
    return f"{ctx.settings.public_url}/h5/upload"


def _ask_amount(turn: Turn) -> str:
    url = _upload_url(turn.ctx)
    return turn.t(f"报销金额是多少？\n也可以直接发送发票照片；PDF 电子发票请在这里上传：{url}",
                  f"How much is the expense?\nYou can also send a photo of the invoice, or upload a PDF here: {url}")


def _ask_category(turn: Turn) -> str:
    names = _category_names(turn.ctx)
    return turn.t(f"什么类别？可选：{names}", f"Which category? One of: {names}")


SLOTS = (
    Slot("amount", ("金额", "amount"), _ask_amount, _parse_amount, aliases=("钱", "money", "sum", "total"),
         example=("58.5、¥1,234.56、一千二百元", "58.5 or 1,234.56"), show=lambda v: format_money(Decimal(v))),
    Slot("category", ("类别", "category"), _ask_category, _parse_category, aliases=("类型", "分类", "type"),
         example=("交通", "transport")),
    Slot("date", ("日期", "date"), ("费用发生在哪天？", "On which day was the expense?"), _parse_date,
         aliases=("时间", "day"), example=("今天、昨天、上周五、11月20日、2026-11-20",
                                           "today, yesterday, last friday, 2026-11-20")),
    Slot("description", ("说明", "description"), ("简单说明一下用途：", "What was it for?"), _parse_text,
         aliases=("描述", "备注", "事由", "用途", "desc", "note", "memo"), required=False,
         example=("打车去客户", "taxi to a client")),
    Slot("invoice_number", ("发票号码", "invoice number"), ("请输入发票号码（8 位或 20 位数字）：",
         "Please type the invoice number (8 or 20 digits):"), _digits(8, 20), aliases=("发票号", "号码", "number"),
         required=False, ask=False, example=("12345678", "12345678")),
    Slot("invoice_code", ("发票代码", "invoice code"), ("请输入发票代码（10 或 12 位数字）：",
         "Please type the invoice code (10 or 12 digits):"), _digits(10, 12), aliases=("代码", "code"),
         required=False, ask=False, example=("3100231130", "3100231130")),
    Slot("seller", ("销售方", "seller"), ("请输入销售方名称：", "Please type the seller's name:"), _parse_text,
         aliases=("商家", "开票方", "vendor"), required=False, ask=False, example=("某某科技有限公司", "Acme Ltd")),
)


def parse_line(ctx: Context, text: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Fields from `58.5 交通 2026-11-20 打车去客户` in any order, plus problems to mention.

    A token is a date, else an amount, else a category (exact name or alias); the remaining
    tokens are the description. Without an explicit category a description word may still
    name one (打车去客户 → 交通).
    """
    data: dict[str, Any] = {}
    notes: list[tuple[str, str]] = []
    rest: list[str] = []
    categories = _categories(ctx)
    for token in normalize(text).split():
        if "date" not in data and (day := parse_date(token, _today(ctx))) is not None:
            data["date"] = day.isoformat()
        elif "amount" not in data and parse_amount(token) is not None:
            try:
                data["amount"] = str(money(token, ctx.rules.expense.max_amount))
            except Invalid as exc:
                notes.append((f"金额 {token}：{exc.zh}", f"Amount {token}: {exc.en}"))
                data["amount"] = None
        elif "category" not in data and (cat := match_category(token, categories, loose=False)):
            data["category"] = cat
        else:
            rest.append(token)
    if data.get("amount") is None:
        data.pop("amount", None)
    if "category" not in data:
        for token in rest:
            if found := category_match(token, categories, cutoff=0.8):
                data["category"] = found[0]
                if found[1] == "typo":  # a misspelt category word is not part of the description
                    rest.remove(token)
                break
    if rest or data or notes:
        data["description"] = " ".join(rest)[:MAX_TEXT]
    return data, notes


# summary and policy ------------------------------------------------------------------------------


def _draft(turn: Turn) -> Draft:
    return Draft(
        amount=Decimal(turn.data["amount"]),
        category=str(turn.data["category"]),
        expense_date=date.fromisoformat(turn.data["date"]),
        has_invoice=bool(turn.data.get("invoice") or turn.data.get("invoice_number")),
    )


async def _budget_probe(turn: Turn) -> NewExpense | None:
    """The draft as the budget checks see it; None when the sender has no department."""
    user = await turn.ctx.user()
    if user is None or user.department_id is None:
        return None
    draft = _draft(turn)
    return NewExpense(amount=draft.amount, category=draft.category, expense_date=draft.expense_date,
                      description="", submitter=user.user_id, department_id=user.department_id)


async def _findings(turn: Turn) -> list[Finding]:
    found = check_policy(turn.ctx.rules.expense.policy, _draft(turn), _today(turn.ctx))
    probe = await _budget_probe(turn)
    budget = None if probe is None else await budget_policy(turn.ctx, probe)
    if budget is not None:
        found.append(Finding(budget.action, budget.message, budget.message))
    return found


def _invoice_view(data: dict[str, Any]) -> dict[str, Any] | None:
    """The invoice as it will be filed: what OCR read, with the user's corrections."""
    if not data.get("invoice") and not data.get("invoice_number"):
        return None
    view = dict(data.get("invoice") or {})
    for slot, field in (("invoice_number", "invoice_number"), ("invoice_code", "invoice_code"),
                        ("seller", "seller_name")):
        if data.get(slot):
            view[field] = data[slot]
    return view


async def _summary(turn: Turn) -> str:
    lines = [turn.t("**请确认报销**", "**Please confirm the expense**")]
    for name in ("amount", "category", "date", "description"):
        slot = next(s for s in SLOTS if s.name == name)
        lines.append(f"> {turn.text(slot.label)}{turn.t('：', ': ')}{md(turn.shown(name))}")
    invoice = _invoice_view(turn.data)
    if invoice is not None:
        resolved = {f for f, slot in FIELD_SLOTS.items() if slot not in turn.unsure}
        unsure = [f for f in turn.data.get("invoice_unsure", []) if f not in resolved]
        lines.append(turn.t("发票：", "Invoice:"))
        lines.extend(f"> {md(line)}" for line in describe(invoice, unsure, turn.lang).splitlines())
    probe = await _budget_probe(turn)
    left = None if probe is None else await remaining_after(turn.ctx, probe)
    if left is not None:
        lines.append(f"> {turn.t('提交后预算余额：', 'Budget left after this: ')}{format_money(left)}")
    for finding in await _findings(turn):
        mark = "⛔" if finding.refuses else "⚠️"
        tail = turn.t("（需修改后才能提交）", " (must be fixed before filing)") if finding.refuses else ""
        lines.append(f'<font color="warning">{mark} {finding.text(turn.lang)}{tail}</font>')
    lines.append(turn.t("回复「确认」提交，「修改 金额 120」修改，「取消」放弃。",
                        'Reply "confirm" to file, "edit amount 120" to change, "cancel" to drop it.'))
    return "\n".join(lines)


# filing ------------------------------------------------------------------------------------------


async def _confirm(turn: Turn, text: str) -> None:
    if not is_yes(text):
        await turn.reply(turn.t("回复「确认」提交，「修改 金额 120」修改，「取消」放弃。",
                                'Reply "confirm" to file, "edit amount 120" to change, or "cancel".'))
        return
    ctx = turn.ctx
    user = await ctx.user()
    if user is None or not user.active or user.department_id is None:
        await turn.finish(turn.t("通讯录中找不到你的部门，无法提交报销，请联系管理员。",
                                 "You have no department in the directory, so the expense cannot be filed."))
        return
    findings = await _findings(turn)
    refusals = [f.text(turn.lang) for f in findings if f.refuses]
    if refusals:
        await turn.reply(turn.t("暂时不能提交：", "This cannot be filed yet: ") + " ".join(refusals)
                         + turn.t("\n请「修改」后再确认，或「取消」。", '\nPlease "edit" it and confirm again, or "cancel".'))
        return
    key = invoice_key(turn.data.get("invoice_code"), turn.data.get("invoice_number"))
    sha = turn.data.get("file_sha256")
    repo = ctx.repo(ExpenseRepo)
    claimed = await repo.claimed_by(invoice_key=key, file_sha256=sha)
    if claimed is not None:
        await turn.finish(_claimed_text(turn.lang, claimed))
        return
    draft = _draft(turn)
    number = await repo.next_number(_today(ctx))
    expense = await repo.create(
        NewExpense(
            amount=draft.amount, category=draft.category, expense_date=draft.expense_date,
            description=str(turn.data.get("description") or ""), submitter=ctx.msg.user_id,
            department_id=user.department_id, invoice=_invoice_view(turn.data), invoice_key=key, file_sha256=sha,
        ),
        number=number, status="submitted", now=ctx.now,
    )
    warnings = [f.zh for f in findings]
    await repo.add_event(expense.id, at=ctx.now, actor=ctx.msg.user_id, action="submitted",
                         data={"warnings": warnings})
    await ctx.audit("expense.submitted", f"expense:{number}", {
        "amount": str(draft.amount), "category": draft.category, "expense_date": draft.expense_date.isoformat(),
        "department_id": user.department_id, "invoice_key": key, "file_sha256": sha, "warnings": warnings,
    })
    money_text = format_money(draft.amount)
    await turn.finish(turn.t(
        f"✅ 已提交报销 {number}：{money_text} {draft.category} {draft.expense_date}。发送「进度 {number}」查看审批进度。",
        f"✅ Filed expense {number}: {money_text} {draft.category} {draft.expense_date}. "
        f'Say "status {number}" to follow it.',
    ))
    await ctx.emit("expense.submitted", {"number": number})


def _claimed_text(lang: str, number: str) -> str:
    if lang == "en":
        return f"This invoice was already claimed in expense {number}; it cannot be claimed twice."
    return f"这张发票已在报销单 {number} 中报销过，不能重复报销。"


# invoices ----------------------------------------------------------------------------------------


async def _take_attachment(ctx: Context, prepared: Any, data: dict[str, Any], lang: str) -> tuple[bool, str]:
    """Put an attachment's invoice into `data`; (False, why) when it cannot be used."""
    zh = lang != "en"
    if not isinstance(prepared, Attachment):
        return False, ("文件没能下载，请重新发送。" if zh else "The file could not be downloaded; please send it again.")
    if not is_readable(prepared.invoice):
        return False, ("没能从文件中识别出发票，请换一张清晰的照片，或直接输入金额。" if zh
                       else "No invoice could be read from it; try a sharper photo or type the amount.")
    invoice = prepared.invoice
    assert invoice is not None
    claimed = await ctx.repo(ExpenseRepo).claimed_by(
        invoice_key=invoice_key(invoice.invoice_code, invoice.invoice_number), file_sha256=prepared.sha256
    )
    if claimed is not None:
        return False, _claimed_text(lang, claimed)
    invoice_slots(invoice, data)
    data["file_sha256"] = prepared.sha256
    lead = "已识别发票：" if zh else "Invoice read:"
    tail = "\n标 ⚠️ 的字段识别不确定，请核对。" if data["invoice_unsure"] and zh else (
        "\nFields marked ⚠️ are uncertain; please check them." if data["invoice_unsure"] else "")
    return True, f"{lead}\n{describe(data['invoice'], data['invoice_unsure'], lang)}{tail}"


async def _on_media(turn: Turn) -> None:
    """An invoice sent while the expense dialog is open completes it."""
    ok, text = await _take_attachment(turn.ctx, turn.ctx.prepared, turn.data, turn.lang)
    turn.note(text)
    if ok:
        await turn.advance()
    else:
        await turn.goto(turn.state)


register(DialogSpec(
    name=SPEC,
    title=("报销", "expense"),
    slots=SLOTS,
    states=(State("confirm", _summary, _confirm, markdown=True),),
    final="confirm",
    on_media=_on_media,
    entry_words=ENTRY_WORDS,
))


# routes ------------------------------------------------------------------------------------------


async def _may_file(ctx: Context) -> bool:
    user = await ctx.user()
    if user is None or not user.active:
        await ctx.reply(ctx.t("通讯录中找不到你，无法报销，请联系管理员。",
                              "You are not in the company directory, so you cannot file expenses."))
        return False
    return True


@router.command(*ENTRY_WORDS)
async def on_expense(ctx: Context) -> None:
    """`报销` alone asks step by step; with fields on the line only the missing ones are asked."""
    if not await _may_file(ctx):
        return
    data, notes = parse_line(ctx, ctx.args)
    note = "\n".join(ctx.t(zh, en) for zh, en in notes) or None
    await start_dialog(ctx, SPEC, data, note=note)


def _is_attachment(msg: Any) -> bool:
    return msg.msg_type == "image" or (msg.msg_type == "file" and msg.source in ("app", "upload"))


router.prepare_when(_is_attachment)(read_attachment)


@router.message("image", "file")
async def on_invoice(ctx: Context) -> None:
    """An invoice photo (or an uploaded PDF) with no expense open starts one."""
    if ctx.msg.source not in ("app", "upload") or not await _may_file(ctx):
        return
    data: dict[str, Any] = {}
    ok, text = await _take_attachment(ctx, ctx.prepared, data, ctx.lang)
    if not ok:
        await ctx.reply(text)
        return
    await start_dialog(ctx, SPEC, data, note=text)
