"""The process figures page (`/h5/stats`) for finance admins, reviewers and leaders.

Signed in through WeCom OAuth2 (bot.h5.sessions); the same scope as `统计` in chat (finance roles
see everything, leaders their departments, others are refused). Filters are a GET form, so the
page changes nothing and needs no CSRF token; charts are inline SVG drawn here (no script, no CDN),
and a Content-Security-Policy forbids loading anything else.

Its look is the workbench's (`bot.h5.shell`).
"""

from __future__ import annotations

import html
from datetime import timedelta

from aiohttp import web

from bot.h5.charts import bars, gauge
from bot.h5.sessions import Sessions
from bot.h5.shell import error_page, page_shell
from bot.parts import BOT, Bot
from chat.context import Context
from handlers.roles import is_finance
from handlers.stats_view import WORDS, Refused, explicit_span, length, scope_of, this_month, window
from storage.db import Tx
from storage.org import Department, OrgRepo
from storage.stats import Figures, StatsRepo

PATH = "/h5/stats"
PERIODS = ("本周", "上周", "本月", "上个月", "本季度", "今年")


class StatsPage:
    """Plugin: the figures page."""

    def __init__(self) -> None:
        self._sessions: Sessions | None = None

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.show)

    async def start(self, bot: Bot) -> None:
        self._sessions = Sessions(bot, error_page)

    async def stop(self) -> None:
        return None

    async def show(self, request: web.Request) -> web.StreamResponse:
        assert self._sessions is not None, "the page plugin has not started"
        viewer = await self._sessions.viewer(request, PATH)
        if isinstance(viewer, web.Response):
            return viewer
        bot = request.app[BOT]
        async with bot.db.read() as tx:
            ctx = bot.context(tx, "stats_page", user_id=viewer, source="h5")
            today = ctx.local(ctx.now).date()
            word = request.query.get("period", "本月")
            period = WORDS[word](today) if word in WORDS else explicit_span(word) or this_month(today)
            org = ctx.repo(OrgRepo)
            dept_id = request.query.get("dept", "")
            dept = await org.department(int(dept_id)) if dept_id.isdigit() else None
            user = await ctx.user()
            try:
                departments, label = await scope_of(ctx, user, dept)
            except Refused as refused:
                return error_page("无法查看统计", f"<p>{html.escape(str(refused))}</p>", 403)
            span, now = window(ctx, period, departments), ctx.now
            choices = await _departments(ctx, departments)

        async def read(tx: Tx) -> tuple[Figures, dict[str, str]]:
            figures = await tx.repo(StatsRepo).figures(span, now, waiting=10)
            people = {a.user_id for a in figures.approvers} | {w.approver for w in figures.waiting}
            return figures, await tx.repo(OrgRepo).names(people)

        figures, names = await bot.services.gateway.long_read(read)  # months of data: off the event loop
        body = _filters(word if word in WORDS else period.key, dept, choices, is_finance(ctx, user)) + _body(
            ctx, figures, names)
        return page_shell("报销与审批统计", f"{period.key} · {label} · 时长按自然时间计", body)


async def _departments(ctx: Context, scope: frozenset[int] | None) -> list[Department]:
    found = await ctx.repo(OrgRepo).departments()
    return [d for d in found if scope is None or d.id in scope]


def _filters(period: str, dept: Department | None, choices: list[Department], everyone: bool) -> str:
    options = "".join(f'<option value="{p}"{" selected" if p == period else ""}>{p}</option>' for p in PERIODS)
    if period not in PERIODS:
        options += f'<option value="{html.escape(period)}" selected>{html.escape(period)}</option>'
    first = "全公司" if everyone else "我负责的部门"
    depts = f'<option value="">{first}</option>' + "".join(
        f'<option value="{d.id}"{" selected" if dept and d.id == dept.id else ""}>{html.escape(d.name)}</option>'
        for d in choices)
    return (f'<section><form class="filters" method="get" action="{PATH}"><select name="period" aria-label="时间段">'
            f'{options}</select><select name="dept" aria-label="部门">{depts}</select>'
            f'<button type="submit">查看</button></form></section>')


def _hours(value: timedelta | None) -> float:
    return 0.0 if value is None else value.total_seconds() / 3600


def _body(ctx: Context, f: Figures, names: dict[str, str]) -> str:
    tiles = "".join(
        f'<div class="tile"><b>{c.count}</b><span>{label} · ¥{c.amount:,.2f}</span></div>'
        for label, c in (("提交", f.filed), ("通过", f.approved), ("驳回", f.rejected), ("付款", f.paid)))
    outcome = bars([(label, float(c.count), f"{c.count} 笔") for label, c in (
        ("提交", f.filed), ("通过", f.approved), ("驳回", f.rejected), ("撤回", f.withdrawn), ("付款", f.paid))],
        title="报销笔数")
    steps = bars([(s.name, _hours(s.durations.average), length(ctx, s.durations.average or timedelta()))
                  for s in f.by_step], title="各步骤平均用时（最慢在前）", color="#f0a020")
    pending = bars([(names.get(a.user_id, a.user_id), float(a.pending), f"{a.pending} 笔")
                    for a in f.approvers if a.pending], title="待审批（按审批人）", color="#e64340")
    avg = {"每步": f.steps, "全程": f.end_to_end}
    times = "".join(
        f"<tr><th>{k}</th><td>{length(ctx, d.average) if d.average else '—'}</td>"
        f"<td>{length(ctx, d.median) if d.median else '—'}</td><td>{length(ctx, d.p90) if d.p90 else '—'}</td>"
        f"<td>{d.count}</td></tr>" for k, d in avg.items())
    waiting = "".join(
        f"<tr><td>{html.escape(w.number)}</td><td>{html.escape(names.get(w.approver, w.approver))}</td>"
        f"<td>{html.escape(w.step_name)}</td><td>¥{w.amount:,.2f}</td><td>{length(ctx, ctx.now - w.since)}</td></tr>"
        for w in f.waiting) or '<tr><td colspan="5" class="none">没有等待中的审批</td></tr>'
    rates = ""
    if f.delivery is not None:
        d = f.delivery
        rates += gauge("消息送达率", d.rate, f"发出 {d.sent}，重试 {d.retried}，搁置 {d.parked}，被拒收 {d.dropped}")
    o, dl, fb = f.ocr, f.dialogs, f.feedback
    rates += gauge("发票识别成功率", o.success_rate, f"{o.reads} 次识别，{o.filed} 笔提交，{o.filed_as_read} 笔未更正")
    rates += gauge("对话完成率", dl.completion_rate,
                   f"开始 {dl.started}，完成 {dl.outcomes.get('completed', 0)}，取消 {dl.outcomes.get('cancelled', 0)}，"
                   f"超时 {dl.outcomes.get('timed_out', 0)}")
    rating = "—" if fb.average is None else f"{fb.average} / 3"
    return (f'<section><h2>报销</h2><div class="tiles">{tiles}</div>{outcome}</section>'
            f"<section><h2>审批用时</h2><table><tr><th></th><th>平均</th><th>中位</th><th>P90</th><th>次数</th></tr>"
            f"{times}</table>{steps}</section>"
            f"<section><h2>瓶颈</h2>{pending}<table><tr><th>单号</th><th>审批人</th><th>步骤</th><th>金额</th>"
            f"<th>已等</th></tr>{waiting}</table></section>"
            f"<section><h2>质量</h2>{rates}<p class=\"note\">反馈 {fb.notes} 条 · 评价 {fb.ratings} 次，平均 {rating}</p>"
            f"</section>")
