"""The workbench (`/h5/`, the app's workbench entry): 我的报销, an expense's detail page, 待我审批.

Pages only draw what `handlers.workbench` returns and post to the same handler functions the chat
uses, with the viewer as the sender (`bot.context(tx, action, user_id=viewer, source="h5")`), so
visibility, decisions, withdraw, resubmit, 催办, second verification and audit are the chat's. What
a handler would have answered in chat is shown on the page instead. A refused view answers like
the chat: the same words for "does not exist" and "not yours to see".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from aiohttp import web

from bot.h5.charts import route_picture
from bot.h5.sessions import SESSION_COOKIE
from bot.h5.shell import Form, PagePlugin, esc, notices, one, page_shell, post_form, yuan
from bot.parts import BOT, Bot
from chat.context import Context
from handlers import workbench as wb
from handlers.approval.chat import STATUS_ZH, withdraw_number
from handlers.expense import resubmit_number
from handlers.expense_invoice import SHOWN_FIELDS
from handlers.nudge import nudge
from storage.expenses import Expense
from storage.uploads import UploadRepo

NUMBER = r"{number:BX\d{8}-\d{4}}"
INVOICE_ZH = dict((f, zh) for f, zh, _ in SHOWN_FIELDS) | {
    "invoice_code": "发票代码", "invoice_type": "发票类型", "buyer_name": "购买方", "buyer_tax_id": "购买方税号",
    "seller_tax_id": "销售方税号", "total_cn": "大写金额", "check_code": "校验码"}
FILTERS = (("", "全部"), *((s, STATUS_ZH[s]) for s in wb.STATUS_FILTERS))


def pill(status: str) -> str:
    return f'<span class="pill {esc(status)}">{esc(STATUS_ZH.get(status, status))}</span>'


def expense_line(e: Expense, extra: str = "") -> str:
    return (f'<a class="item" href="/h5/expenses/{esc(e.number)}"><div class="row"><span>{esc(e.category)} · '
            f'{esc(e.description[:24]) or "—"}</span><b>{yuan(e.amount)}</b></div><div class="sub">{esc(e.number)} · '
            f'{e.expense_date.isoformat()} · {pill(e.status)}{extra}</div></a>')


class Workbench(PagePlugin):
    """Plugin: 我的报销, the detail page with its actions, 待我审批 with single and batch decisions."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/h5", self.home)
        app.router.add_get("/h5/", self.home)
        app.router.add_get("/h5/mine", self.mine)
        app.router.add_get("/h5/logout", self.logout)
        app.router.add_get(f"/h5/expenses/{NUMBER}", self.detail)
        app.router.add_get(f"/h5/expenses/{NUMBER}/invoice", self.invoice)
        app.router.add_post(f"/h5/expenses/{NUMBER}/{{action:withdraw|resubmit|nudge|decide}}", self.act)
        app.router.add_get("/h5/approvals", self.approvals)
        app.router.add_post("/h5/approvals", self.decide)
        app.router.add_post("/h5/approvals/batch", self.batch)

    async def home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/h5/mine")

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """Sign out of the pages (a shared phone, another member); `next` may only lead back into them."""
        target = request.query.get("next", "")
        response = web.HTTPFound(target if target.startswith("/h5/") and "//" not in target else "/h5/mine")
        response.del_cookie(SESSION_COOKIE, path="/h5")
        raise response

    # 我的报销 ------------------------------------------------------------------------------------
    async def mine(self, request: web.Request) -> web.StreamResponse:
        viewer = await self.viewer(request)
        if isinstance(viewer, web.Response):
            return viewer
        bot = request.app[BOT]
        status = request.query.get("status", "")
        async with bot.db.read() as tx:
            found = await wb.my_expenses(bot.context(tx, "h5_mine", user_id=viewer, source="h5"), status)
        chips = "".join(f'<a href="/h5/mine{"?status=" + key if key else ""}"'
                        f'{" class=on" if key == status else ""}>{label}</a>' for key, label in FILTERS)
        rows = "".join(expense_line(e) for e in found) or '<p class="none">没有报销记录。在聊天里说「报销」开始。</p>'
        return page_shell("我的报销", f"共 {len(found)} 笔" + (f" · {STATUS_ZH.get(status, '')}" if status else ""),
                          f'<nav class="filters">{chips}</nav><section>{rows}</section>', tab="mine")

    # the detail page -----------------------------------------------------------------------------
    async def detail(self, request: web.Request) -> web.StreamResponse:
        viewer = await self.viewer(request)
        if isinstance(viewer, web.Response):
            return viewer
        return await self._detail(request, viewer, request.match_info["number"], [])

    async def _detail(self, request: web.Request, viewer: str, number: str, said: list[str],
                      bad: bool = False) -> web.Response:
        bot = request.app[BOT]
        async with bot.db.read() as tx:
            view = await wb.expense_view(bot.context(tx, "h5_expense", user_id=viewer, source="h5"), number)
        if view is None:
            return page_shell(number, "财务助手", f"<section><p>{esc(number)} 不存在，或你无权查看。</p></section>",
                              404, tab="mine")
        body = notices(said, bad=bad) + _summary(view) + _actions(view, number, self.sessions.csrf(request))
        body += _invoice(view, number) + (f"<section><h2>审批路线</h2>{_route(view)}<p class=\"sub\">{esc(view.now)}</p>"
                                          f"</section>")
        body += "<section><h2>时间线</h2><ol class=\"timeline\">" + "".join(
            f"<li>{esc(line)}</li>" for line in view.timeline) + "</ol></section>"
        return page_shell(number, f"{view.status} · {view.submitter}（{view.department}）", body, tab="mine")

    async def invoice(self, request: web.Request) -> web.StreamResponse:
        """The original invoice file, only to those the masking rules let see it."""
        viewer = await self.viewer(request)
        if isinstance(viewer, web.Response):
            return viewer
        bot = request.app[BOT]
        async with bot.db.read() as tx:
            view = await wb.expense_view(bot.context(tx, "h5_invoice", user_id=viewer, source="h5"),
                                         request.match_info["number"])
            upload = None
            if view is not None and view.invoice_file and view.expense.file_sha256:
                upload = await tx.repo(UploadRepo).original(view.expense.file_sha256)
        data = None if upload is None or upload.file is None else await self.files.read(upload.file)
        if upload is None or data is None:
            raise web.HTTPNotFound(text="no invoice file to show")
        return web.Response(body=data, content_type=upload.content_type,
                            headers={"Content-Disposition": "inline", "X-Content-Type-Options": "nosniff"})

    async def act(self, request: web.Request) -> web.StreamResponse:
        got = await self.posted(request)
        if isinstance(got, web.Response):
            return got
        viewer, form = got
        number, action = request.match_info["number"], request.match_info["action"]
        said = await self._run(request.app[BOT], viewer, action, number, form)
        return await self._detail(request, viewer, number, said)

    async def _run(self, bot: Bot, viewer: str, action: str, number: str, form: Form) -> list[str]:
        """Run the chat's own function for the action; what it answers is shown on the page."""
        async with bot.db.transaction() as tx:
            ctx = bot.context(tx, f"h5_{action}", user_id=viewer, source="h5")
            if action == "decide":
                outcome = await _decision(ctx, form)
                return [outcome.text]
            if action == "resubmit":  # the copy opens as a dialog in the chat, where it is confirmed
                await resubmit_number(ctx, number, "")
                return [f"已把 {number} 的内容复制到企业微信聊天中，请回到聊天修改并确认提交。"]
            ctx.page = []
            await (withdraw_number if action == "withdraw" else nudge)(ctx, number, "")
            return ctx.page

    # 待我审批 -----------------------------------------------------------------------------------
    async def approvals(self, request: web.Request) -> web.StreamResponse:
        viewer = await self.viewer(request)
        if isinstance(viewer, web.Response):
            return viewer
        return await self._queue(request, viewer, "")

    async def _queue(self, request: web.Request, viewer: str, said: str) -> web.Response:
        bot = request.app[BOT]
        async with bot.db.read() as tx:
            ctx = bot.context(tx, "h5_approvals", user_id=viewer, source="h5")
            items = await wb.queue(ctx)
            limit = ctx.rules.approval.batch_max_amount
        csrf = self.sessions.csrf(request)
        body = said + _batch(items, csrf, limit) + "".join(_queue_item(item, csrf) for item in items)
        if not items:
            body += '<section><p class="none">没有等你审批的报销。</p></section>'
        return page_shell("待我审批", f"{len(items)} 笔等你处理 · 最早的在前", body, tab="approvals")

    async def decide(self, request: web.Request) -> web.StreamResponse:
        return await self._decide_and_show(request, "h5_decide", _single)

    async def batch(self, request: web.Request) -> web.StreamResponse:
        return await self._decide_and_show(request, "h5_batch", _several)

    async def _decide_and_show(self, request: web.Request, action: str,
                               work: Callable[[Context, Form], Awaitable[str]]) -> web.StreamResponse:
        """A checked POST, its decisions in one transaction, then the queue with what happened on top."""
        got = await self.posted(request)
        if isinstance(got, web.Response):
            return got
        viewer, form = got
        bot = request.app[BOT]
        async with bot.db.transaction() as tx:
            said = await work(bot.context(tx, action, user_id=viewer, source="h5"), form)
        return await self._queue(request, viewer, said)


async def _single(ctx: Context, form: Form) -> str:
    outcome = await _decision(ctx, form)
    return notices([outcome.text], bad=not outcome.done)


async def _several(ctx: Context, form: Form) -> str:
    outcomes = await wb.approve_batch(ctx, form.get("number", [])[:50])
    done = [o.text for o in outcomes if o.done]
    refused = [o.text for o in outcomes if not o.done]
    return (f'<section><h2>批量审批结果：同意 {len(done)} 笔，未处理 {len(refused)} 笔</h2>'
            f"{notices(done)}{notices(refused, bad=True)}</section>")


async def _decision(ctx: Context, form: Form) -> wb.Outcome:
    number, verdict, comment = one(form, "number"), one(form, "verdict"), one(form, "comment")
    if verdict == "reject" and len(comment) < 2:
        return wb.Outcome(number, False, f"驳回 {number} 需要写明理由，未做任何更改。")
    return await wb.decide(ctx, verdict, number, comment)


def _summary(view: wb.ExpenseView) -> str:
    e = view.expense
    rows = [("金额", yuan(e.amount)), ("类别", e.category), ("日期", e.expense_date.isoformat()),
            ("事由", e.description or "—"), ("申请人", f"{view.submitter}（{view.department}）")]
    if view.remaining_after is not None:
        rows.append(("预算余额（本单后）", yuan(view.remaining_after)))
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    warnings = "".join(f'<div class="warn">⚠️ {esc(w)}</div>' for w in view.warnings)
    return (f'<section><div class="row"><span>{pill(e.status)}</span><b>{yuan(e.amount)}</b></div>'
            f"<table class=kv>{table}</table>{warnings}</section>")


def _actions(view: wb.ExpenseView, number: str, csrf: str) -> str:
    base = f"/h5/expenses/{number}"
    forms = []
    if "decide" in view.actions:
        forms.append(_decide_form(number, csrf))
    if "nudge" in view.actions:
        forms.append(post_form(f"{base}/nudge", csrf, "催办"))
    if "withdraw" in view.actions:
        forms.append(post_form(f"{base}/withdraw", csrf, "撤回", css="plain"))
    if "resubmit" in view.actions:
        forms.append(post_form(f"{base}/resubmit", csrf, "重新提交"))
    if view.expense.status == "submitted" and "withdraw" in view.actions and "nudge" not in view.actions:
        forms.append('<p class="sub">今天已催办，明天可以再催。</p>')
    return f'<section><h2>操作</h2><div class="actions">{"".join(forms)}</div></section>' if forms else ""


def _decide_form(number: str, csrf: str) -> str:
    return (f'<form method="post" action="/h5/approvals" style="width:100%">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}"><input type="hidden" name="number" value="{number}">'
            f'<textarea name="comment" placeholder="审批意见（驳回时必填）" aria-label="审批意见"></textarea>'
            f'<div class="actions"><button type="submit" name="verdict" value="approve">同意</button>'
            f'<button type="submit" name="verdict" value="reject" class="bad">驳回</button></div></form>')


def _invoice(view: wb.ExpenseView, number: str) -> str:
    if not view.invoices:
        return '<section><h2>发票</h2><p class="none">无发票</p></section>'
    rows = "".join("<table class=kv>" + "".join(f"<tr><th>{esc(INVOICE_ZH.get(k, k))}</th><td>{esc(_field(k, v))}</td></tr>"
                                       for k, v in invoice.items() if v not in (None, "") and k in INVOICE_ZH)
                   + "</table>" for invoice in view.invoices)
    original = ""
    if view.invoice_file:
        src = f"/h5/expenses/{number}/invoice"
        original = (f'<p><a href="{src}">查看发票原件</a></p>'
                    f'<iframe class="invoice" src="{src}" title="发票原件"></iframe>')
    count = f"（{len(view.invoices)} 张）" if len(view.invoices) > 1 else ""
    return f"<section><h2>发票{count}</h2>{rows}{original}</section>"


def _field(name: str, value: object) -> str:
    return yuan(Decimal(str(value))) if name in ("amount", "tax", "total") else str(value)


def _route(view: wb.ExpenseView) -> str:
    steps = [(s.name, s.mode, s.status, f"{wb.STEP_STATE_ZH.get(s.status, s.status)}"
              + (f" · {s.took}" if s.took else ""), [(p.name, p.state) for p in s.people]) for s in view.steps]
    return route_picture(steps)


def _queue_item(item: wb.QueueItem, csrf: str) -> str:
    e = item.expense
    left = "未设预算" if item.remaining_after is None else yuan(item.remaining_after)
    warnings = "".join(f'<div class="warn">⚠️ {esc(w)}</div>' for w in item.warnings)
    return (f'<section><div class="row"><a href="/h5/expenses/{e.number}">{e.number}</a><b>{yuan(e.amount)}</b></div>'
            f'<div class="sub">{esc(item.submitter)} · {esc(item.department)} · {esc(e.category)} · '
            f'{e.expense_date.isoformat()} · 已等 {esc(item.waited)}</div>'
            f'<p>{esc(e.description) or "—"}</p><table class="kv"><tr><th>发票</th><td>{esc(item.invoice)}</td></tr>'
            f'<tr><th>预算余额（本单后）</th><td>{left}</td></tr></table>{warnings}{_decide_form(e.number, csrf)}</section>')


def _batch(items: list[wb.QueueItem], csrf: str, limit: Decimal) -> str:
    small = [i for i in items if i.small]
    if len(small) < 2:
        return ""
    boxes = "".join(f'<label class="pick"><input type="checkbox" name="number" value="{i.expense.number}" checked>'
                    f'<span>{i.expense.number} · {esc(i.submitter)} · {yuan(i.expense.amount)} {esc(i.expense.category)}'
                    + (" ⚠️" if i.warnings else "") + "</span></label>" for i in small)
    return (f'<section><h2>批量同意小额报销（每笔不超过 {yuan(limit)}）</h2>'
            f'<form method="post" action="/h5/approvals/batch"><input type="hidden" name="csrf" value="{esc(csrf)}">'
            f'{boxes}<div class="actions"><button type="submit">同意所选</button></div></form></section>')
