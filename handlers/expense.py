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
from dialogs import DialogSpec, Invalid, Slot, State, Turn, Unsure, register, start_dialog
from dialogs.money import read_amount
from dialogs.parsing import CENT, checked_money, format_money, is_yes, match_category, normalize, parse_date
from handlers import pick
from handlers.approval.chat import own_expenses, parse_number, status_label
from handlers.budget_view import budget_policy, remaining_after
from handlers.expense_invoice import (
    FAILURES,
    FIELD_SLOTS,
    Attachment,
    corrected_fields,
    describe,
    invoice_key,
    invoice_slots,
    line_keys,
    line_text,
    lines_slots,
    read_attachment,
)
from handlers.expense_policy import Draft, Finding, check_policy
from handlers.intents import said, understood
from handlers.pick import ordinal
from ocr.models import Invoice
from storage.expenses import ExpenseRepo, NewExpense
from storage.process import InvoiceReadRepo

router = Router("expense")
ENTRY_WORDS = ("报销", "expense")
SPEC = "expense"
MAX_TEXT = 200
AMOUNT_SAID = "amount_said"  # the words an amount was read from (一千二), shown beside it
DATE_DEFAULT = "date_default"  # the date was not said: today
RESUBMIT_OF = "resubmit_of"
INVOICE_READ = "invoice_read"  # the id of the OCR read the draft's invoice came from
CHOICES = "invoice_choices"  # several invoices read from one file, until the person decides
LINES = "invoice_lines"  # several invoices filed as lines of one expense
INVOICES = "invoices"  # the state that asks which of them to file


# values ------------------------------------------------------------------------------------------


def _today(ctx: Context) -> date:
    return ctx.local(ctx.now).date()


def _categories(ctx: Context) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.name, c.aliases) for c in ctx.rules.expense.categories]


def _category_names(ctx: Context) -> str:
    return "、".join(c.name for c in ctx.rules.expense.categories)


def _parse_amount(turn: Turn, text: str) -> str | Unsure:
    read = read_amount(text)
    if read is None:
        raise Invalid("没看懂这个金额。", "That does not look like an amount.")
    value = str(checked_money(read.value, turn.ctx.rules.expense.max_amount))
    return value if read.sure else Unsure(value)


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
    if found > _today(turn.ctx):
        raise _future(found)
    return found.isoformat()


def _future(day: date) -> Invalid:
    return Invalid(f"日期不能是未来日期（{day.isoformat()}），请回复费用实际发生的日期。",
                   f"The date cannot be in the future ({day.isoformat()}); when did the expense happen?")


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
         aliases=("描述", "备注", "事由", "用途", "desc", "note", "memo"), required=False, free_text=True,
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


def read_line(ctx: Context, text: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Fields from a sentence (`报个销，上周五请客户吃饭 860`, `报销 58.5 交通 2026-11-20 打车去客户`),
    plus what to tell the person about values that could not be used.

    The values come from the classifier (nlu): found anywhere, in any order. An amount in words is
    kept with its words so the summary shows how it was read; no date means today, and the
    summary says so; a vague or future date, a refused amount or several candidates are said, and
    the dialog asks for that field.
    """
    found = understood(ctx, text)
    data: dict[str, Any] = {}
    notes: list[tuple[str, str]] = []
    if found.amount is not None:
        try:
            data["amount"] = str(checked_money(found.amount.value, ctx.rules.expense.max_amount))
        except Invalid as exc:
            notes.append((f"金额 {found.amount_text}：{exc.zh}", f"Amount {found.amount_text}: {exc.en}"))
        else:
            if found.amount.words:
                data[AMOUNT_SAID] = found.amount_text
            if not found.amount.sure:
                data["_unsure"] = ["amount"]
    elif found.amounts:
        shown = "、".join(format_money(v) for v in found.amounts)
        notes.append((f"提到了几个金额（{shown}），请回复这笔报销的金额。",
                      f"Several amounts were mentioned ({shown}); please reply with the amount to file."))
    today = _today(ctx)
    if found.day is not None and found.day > today:
        notes.append((_future(found.day).zh, _future(found.day).en))
    elif found.day is not None:
        data["date"] = found.day.isoformat()
    elif found.days:
        shown = "、".join(d.isoformat() for d in found.days)
        notes.append((f"提到了几个日期（{shown}），请回复费用发生在哪天。", f"Several dates ({shown}); which day was it?"))
    elif found.vague_day:
        notes.append((f"「{found.vague_day}」是哪一天？", f'Which day exactly is "{found.vague_day}"?'))
    elif "amount" in data:
        data["date"] = today.isoformat()  # no date said: today, and the summary says so
        data[DATE_DEFAULT] = True
    if found.category:
        data["category"] = found.category
    if found.description:
        data["description"] = found.description[:MAX_TEXT]
    return data, notes


async def _read_sentence(turn: Turn, text: str) -> bool:
    """An answer that is a whole sentence (`昨天打车花了35`) fills whatever it names that is missing."""
    data, notes = read_line(turn.ctx, text)
    added = {k: v for k, v in data.items() if not turn.has(k) and (k in SLOT_NAMES or not k.startswith("_"))}
    if not added.keys() & {"amount", "date", "category"} and not notes:
        return False  # no value in it: the answer is just wrong, and is asked again
    for key, value in added.items():
        turn.set(key, value, unsure=key in data.get("_unsure", []))
    for zh, en in notes:
        turn.note(turn.t(zh, en))
    return True


# summary and policy ------------------------------------------------------------------------------


SLOT_NAMES = frozenset(s.name for s in SLOTS)


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
        lines.append(f"> {turn.text(slot.label)}{turn.t('：', ': ')}{md(turn.shown(name))}{_how_read(turn, name)}")
    invoice = _invoice_view(turn.data)
    if turn.data.get(LINES):
        lines.append(turn.t(f"发票（{len(turn.data[LINES])} 张，每张一行）：",
                            f"Invoices ({len(turn.data[LINES])}, one line each):"))
        lines.extend(f"> {md(line_text(i, inv, turn.lang))}" for i, inv in enumerate(turn.data[LINES], 1))
    elif invoice is not None:
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


def _how_read(turn: Turn, slot: str) -> str:
    """Where a value came from when the person should see it: words read as money, a date not said."""
    if slot == "amount" and (said := turn.data.get(AMOUNT_SAID)):
        read = read_amount(str(said))
        if read is not None and str(read.value.quantize(CENT)) == turn.data.get("amount"):
            return turn.t(f"（按「{md(str(said))}」）", f' (read from "{md(str(said))}")')
    if slot == "date" and turn.data.get(DATE_DEFAULT) and turn.data.get("date") == _today(turn.ctx).isoformat():
        return turn.t("（没说日期，按今天）", " (no date given: today)")
    return ""


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
    lines: list[dict[str, Any]] = turn.data.get(LINES) or []
    keys = line_keys(lines) if lines else [invoice_key(turn.data.get("invoice_code"), turn.data.get("invoice_number"))]
    key = keys[0] if keys else None
    sha = turn.data.get("file_sha256")
    repo = ctx.repo(ExpenseRepo)
    for claim in [*keys, None]:  # every line's invoice, then the file itself
        claimed = await repo.claimed_by(invoice_key=claim, file_sha256=None if claim else sha)
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
            invoice_lines=tuple(lines), line_keys=tuple(k for k in keys[1:] if k),
        ),
        number=number, status="submitted", now=ctx.now,
    )
    warnings = [f.zh for f in findings]
    earlier = turn.data.get(RESUBMIT_OF)
    await repo.add_event(expense.id, at=ctx.now, actor=ctx.msg.user_id, action="submitted",
                         data={"warnings": warnings} | ({RESUBMIT_OF: earlier} if earlier else {}))
    await ctx.audit("expense.submitted", f"expense:{number}", {
        "amount": str(draft.amount), "category": draft.category, "expense_date": draft.expense_date.isoformat(),
        "department_id": user.department_id, "invoice_key": key, "file_sha256": sha, "warnings": warnings,
        RESUBMIT_OF: earlier, "invoice_lines": len(lines) or None, "line_keys": keys[1:] if lines else None,
    })
    if earlier:
        await _link_resubmission(ctx, str(earlier), number)
    if turn.data.get(INVOICE_READ) and turn.data.get("invoice"):
        await ctx.repo(InvoiceReadRepo).filed(int(turn.data[INVOICE_READ]), number,
                                              corrected_fields(turn.data["invoice"], turn.data))
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


ALL_WORDS = frozenset({"全部", "都要", "都报", "全都要", "合并", "一起", "all", "both", "every"})


async def _take_attachment(ctx: Context, prepared: Any, data: dict[str, Any], lang: str) -> tuple[str, str]:
    """Put an attachment's invoices into `data`. Returns (next, text): `ok` when the slots are filled,
    `choose` when the file holds several invoices and the person decides, `refused` (text says why)."""
    zh = lang != "en"
    if not isinstance(prepared, Attachment):
        return "refused", ("文件没能下载，请重新发送。" if zh else "The file could not be downloaded; please send it again.")
    readable = prepared.readable
    read_id = await ctx.repo(InvoiceReadRepo).record(
        ctx.msg.user_id, read=bool(readable), uncertain={f for inv in readable for f in inv.uncertain_fields()},
        now=ctx.now)
    if not readable:
        return "refused", FAILURES[prepared.failure or "unreadable"][0 if zh else 1]
    repo = ctx.repo(ExpenseRepo)
    if (same_file := await repo.claimed_by(file_sha256=prepared.sha256)) is not None:
        return "refused", _claimed_text(lang, same_file)
    free: list[Invoice] = []
    taken: list[str] = []
    for invoice in readable:
        claimed = await repo.claimed_by(invoice_key=invoice_key(invoice.invoice_code, invoice.invoice_number))
        if claimed is None:
            free.append(invoice)
        else:
            taken.append(claimed)
    if not free:
        return "refused", _claimed_text(lang, taken[0])
    skipped = (turn_text(lang, f"（另有 {len(taken)} 张已在 {'、'.join(dict.fromkeys(taken))} 中报销过，已跳过）",
                         f"({len(taken)} more already claimed in {', '.join(dict.fromkeys(taken))}; skipped)")
               if taken else "")
    data["file_sha256"] = prepared.sha256
    data[INVOICE_READ] = read_id
    if len(free) > 1:
        data[CHOICES] = [inv.model_dump(mode="json") for inv in free]
        return "choose", skipped
    invoice_slots(free[0], data)
    lead = "已识别发票：" if zh else "Invoice read:"
    tail = "\n标 ⚠️ 的字段识别不确定，请核对。" if data["invoice_unsure"] and zh else (
        "\nFields marked ⚠️ are uncertain; please check them." if data["invoice_unsure"] else "")
    body = "\n".join(md(line) for line in describe(data["invoice"], data["invoice_unsure"], lang).splitlines())
    kind = _category_from_items(ctx, free[:1], data, lang)
    return "ok", "\n".join(p for p in (f"{lead}\n{body}{tail}", kind, skipped) if p)


def _category_from_items(ctx: Context, invoices: list[Invoice], data: dict[str, Any], lang: str) -> str:
    """Fill the category from the invoices' item names (`*餐饮服务*…` is 餐饮) unless the person
    already said one; returns the line that shows it and how to change it, or "" when none fits."""
    if data.get("category"):
        return ""
    found = ctx.rules.expense.category_of_items(item for inv in invoices for item in inv.items)
    if found is None:
        return ""
    data["category"] = found
    return turn_text(lang, f"类别：{found}（按发票品目；要改请发「修改 类别 …」）",
                     f'Category: {found} (from the invoice items; send "edit category …" to change it)')


def turn_text(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def _choices_prompt(turn: Turn) -> str:
    """Several invoices in one file: all of them as lines of one expense, or one of them."""
    choices = [Invoice.model_validate(c) for c in turn.data[CHOICES]]
    total = sum((c.total or Decimal(0)) for c in choices)
    lines = [turn.t(f"文件里有 {len(choices)} 张发票：", f"The file holds {len(choices)} invoices:")]
    lines += [line_text(i, c.to_json_dict(), turn.lang) for i, c in enumerate(choices, 1)]
    lines.append(turn.t(f"回复「全部」作为一笔报销的 {len(choices)} 行（合计 {format_money(total)}），"
                        "或回复序号只报其中一张；发送「取消」放弃。",
                        f'Reply "all" to file them as {len(choices)} lines of one expense ({format_money(total)} '
                        'in all), or the number of the one to file; "cancel" to drop it.'))
    return "\n".join(lines)


async def _choose_invoice(turn: Turn, text: str) -> None:
    choices = [Invoice.model_validate(c) for c in turn.data[CHOICES]]
    word = normalize(text).lower().strip("。.!！ ")
    place = ordinal(word, len(choices))
    if word in ALL_WORDS:
        chosen = choices
        lines_slots(chosen, turn.data)
    elif place is not None:
        chosen = choices[place - 1:place]
        invoice_slots(chosen[0], turn.data)
    else:
        await turn.reply(turn.t(f"请回复「全部」，或 1 到 {len(choices)} 之间的序号。",
                                f'Please reply "all" or a number from 1 to {len(choices)}.'))
        return
    del turn.data[CHOICES]
    if kind := _category_from_items(turn.ctx, chosen, turn.data, turn.lang):
        turn.note(kind)
    await turn.advance()


async def _on_media(turn: Turn) -> None:
    """An invoice sent while the expense dialog is open completes it."""
    step, text = await _take_attachment(turn.ctx, turn.ctx.prepared, turn.data, turn.lang)
    turn.note(text)
    if step == "ok":
        await turn.advance()
    else:
        await turn.goto(INVOICES if step == "choose" else turn.state)


register(DialogSpec(
    name=SPEC,
    title=("报销", "expense"),
    slots=SLOTS,
    states=(State("confirm", _summary, _confirm, markdown=True), State(INVOICES, _choices_prompt, _choose_invoice)),
    final="confirm",
    on_media=_on_media,
    entry_words=ENTRY_WORDS,
    read_sentence=_read_sentence,
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
@said(router, "expense")
async def on_expense(ctx: Context) -> None:
    """`报销` alone asks step by step; with fields in the sentence only the missing ones are asked."""
    if not await _may_file(ctx):
        return
    data, notes = read_line(ctx, ctx.msg.text)
    note = "\n".join(ctx.t(zh, en) for zh, en in notes) or None
    await start_dialog(ctx, SPEC, data, note=note)


def _is_attachment(msg: Any) -> bool:
    return msg.msg_type == "image" or (msg.msg_type == "file" and msg.source in ("app", "upload"))


router.prepare_when(_is_attachment)(read_attachment)


@router.message("image", "file")
async def on_invoice(ctx: Context) -> None:
    """An invoice photo (or an uploaded file) with no expense open starts one."""
    if ctx.msg.source not in ("app", "upload") or not await _may_file(ctx):
        return
    data: dict[str, Any] = {}
    step, text = await _take_attachment(ctx, ctx.prepared, data, ctx.lang)
    if step == "refused":
        await ctx.reply(text)
        return
    await start_dialog(ctx, SPEC, data, note=text or None, state=INVOICES if step == "choose" else None)


# resubmitting ------------------------------------------------------------------------------------

RESUBMITTABLE = ("rejected", "withdrawn")


@router.command("重新提交", "resubmit")
@said(router, "resubmit")
async def resubmit(ctx: Context) -> None:
    """`重新提交 BX…`: a rejected (or withdrawn) expense back into the dialog, every field filled in."""
    await pick.act(ctx, "resubmit", parse_number(ctx.args), lambda: own_expenses(ctx, *RESUBMITTABLE),
                   lead=("要重新提交哪一笔？", "Which expense do you want to resubmit?"),
                   none=("你没有被驳回或撤回的报销，无需重新提交。", "None of your expenses was rejected or withdrawn."))


@pick.action("resubmit")
async def resubmit_number(ctx: Context, number: str, _rest: str) -> None:
    if not await _may_file(ctx):
        return
    repo = ctx.repo(ExpenseRepo)
    old = await repo.by_number(number)
    if old is None or old.submitter != ctx.msg.user_id:
        await ctx.reply(ctx.t(f"没有找到你提交的 {number}。", f"No expense {number} of yours was found."))
        return
    if old.status not in RESUBMITTABLE:
        label = status_label(ctx, old.status)
        await ctx.reply(ctx.t(f"{number} {label}，只有被驳回或撤回的报销可以重新提交。",
                              f"{number} is {label}; only rejected or withdrawn expenses can be resubmitted."))
        return
    why = next((e.comment for e in reversed(await repo.timeline(old.id)) if e.action == "reject" and e.comment), "")
    invoice = old.invoice or {}
    data = {"amount": f"{old.amount:.2f}", "category": old.category, "date": old.expense_date.isoformat(),
            "description": old.description, RESUBMIT_OF: number, "invoice": old.invoice,
            "invoice_number": invoice.get("invoice_number"), "invoice_code": invoice.get("invoice_code"),
            "seller": invoice.get("seller_name"), "file_sha256": old.file_sha256}
    data = {k: v for k, v in data.items() if v not in (None, "")} | {"description": old.description}
    reason = ctx.t(f"（驳回理由：{md(why)}）", f" (rejected because: {md(why)})") if why else ""  # a markdown summary
    await start_dialog(ctx, SPEC, data, note=ctx.t(f"已复制 {number} 的内容{reason}，改好后确认即可提交为一笔新的报销：",
                                                   f"Copied {number}{reason}; edit what needs changing, then confirm "
                                                   "to file it as a new expense:"))


async def _link_resubmission(ctx: Context, earlier: str, number: str) -> None:
    """The old expense's timeline and the audit log point at the new one."""
    repo = ctx.repo(ExpenseRepo)
    old = await repo.by_number(earlier)
    if old is None:
        return
    await repo.add_event(old.id, at=ctx.now, actor=ctx.msg.user_id, action="resubmitted", data={"new": number})
    await ctx.audit("expense.resubmitted", f"expense:{earlier}", {"new": number})
