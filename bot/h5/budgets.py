"""预算 on the workbench (`/h5/budgets`): the budgets the viewer may see (the chat's `预算` scope), each as
budget vs used vs pending, this period's burn against time and when it runs out at the current pace;
and, for leaders and finance, the department's expenses (`/h5/budgets/<dept>/expenses`)."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from bot.h5.charts import bars, burn, stacked
from bot.h5.shell import PagePlugin, esc, page_shell, yuan
from bot.h5.workbench import expense_line
from bot.parts import BOT
from handlers import workbench as wb
from handlers.budget_view import department_name, month_of, parse_period

PERIODS = 6  # months offered in the period picker


class BudgetPage(PagePlugin):
    """Plugin: the budgets board and the drill-down to a department's expenses."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/h5/budgets", self.show)
        app.router.add_get(r"/h5/budgets/{dept:\d+}/expenses", self.expenses)

    async def show(self, request: web.Request) -> web.StreamResponse:
        viewer = await self.viewer(request)
        if isinstance(viewer, web.Response):
            return viewer
        bot = request.app[BOT]
        dept = request.query.get("dept", "")
        async with bot.db.read() as tx:
            try:
                board = await wb.board(bot.context(tx, "h5_budgets", user_id=viewer, source="h5"),
                                       int(dept) if dept.isdigit() else None, request.query.get("period") or None)
            except wb.Refused as refused:
                return page_shell("无法查看预算", "预算", f"<section><p>{esc(refused)}</p></section>", 403, tab="budgets")
        body = _filters(board) + _overview(board) + _totals(board) + "".join(_budget(b) for b in board.budgets)
        if not board.budgets:
            body += f'<section><p class="none">{esc(board.department.name)} {esc(board.period.key)} 没有设置预算。</p></section>'
        if board.drill:
            body += (f'<section><a href="/h5/budgets/{board.department.id}/expenses?period={esc(board.period.key)}">'
                     f"查看 {esc(board.department.name)} 的报销明细 →</a></section>")
        return page_shell("预算", f"{board.department.name} · {board.period.key}", body, tab="budgets")

    async def expenses(self, request: web.Request) -> web.StreamResponse:
        viewer = await self.viewer(request)
        if isinstance(viewer, web.Response):
            return viewer
        bot = request.app[BOT]
        dept_id = int(request.match_info["dept"])
        async with bot.db.read() as tx:
            ctx = bot.context(tx, "h5_budget_expenses", user_id=viewer, source="h5")
            period = parse_period(request.query.get("period", "")) or month_of(ctx.local(ctx.now).date())
            try:
                found = await wb.department_expenses(ctx, dept_id, period)
            except wb.Refused as refused:
                return page_shell("无法查看明细", "预算", f"<section><p>{esc(refused)}</p></section>", 403, tab="budgets")
            name = await department_name(ctx, dept_id)
        rows = "".join(expense_line(e, f" · {esc(who)}") if visible else
                       f'<div class="item"><div class="row"><span>{esc(e.category)}</span><b>{yuan(e.amount)}</b></div>'
                       f'<div class="sub">{esc(e.number)} · {esc(who)} · {e.expense_date.isoformat()}</div></div>'
                       for e, who, visible in found) or '<p class="none">这段时间没有报销。</p>'
        total = sum((e.amount for e, _, _ in found), start=Decimal(0))
        return page_shell(f"{name} 的报销", f"{period.key} · {len(found)} 笔 · {yuan(total)}",
                          f"<section>{rows}</section>", tab="budgets")


def _filters(board: wb.Board) -> str:
    depts = "".join(f'<option value="{d.id}"{" selected" if d.id == board.department.id else ""}>{esc(d.name)}</option>'
                    for d in board.choices)
    months = wb.recent_months(board.period, PERIODS)
    periods = "".join(f'<option value="{m}"{" selected" if m == board.period.key else ""}>{m}</option>' for m in months)
    return (f'<section><form class="filters" method="get" action="/h5/budgets"><select name="dept" aria-label="部门">'
            f'{depts}</select><select name="period" aria-label="期间">{periods}</select>'
            f'<button type="submit">查看</button></form></section>')


def _overview(board: wb.Board) -> str:
    """Every department the viewer may see, side by side: budget, used, pending, percent used."""
    if not board.overview:
        return ""
    rows = "".join(
        f'<tr><td><a href="/h5/budgets?dept={line.department.id}&period={esc(board.period.key)}">'
        f"{esc(line.department.name)}</a></td><td>{yuan(line.amount)}</td><td>{yuan(line.used)}</td>"
        f"<td>{yuan(line.pending)}</td><td>{line.percent}%</td></tr>" for line in board.overview)
    chart = bars([(line.department.name, float(line.committed), f"{line.committed}%") for line in board.overview],
                 title="已用 + 审批中占预算（按部门）", color="#2b7cf6")
    return (f"<section><h2>各部门（{esc(board.period.key)}）</h2>{chart}<table><tr><th>部门</th><th>预算</th>"
            f"<th>已用</th><th>审批中</th><th>已用%</th></tr>{rows}</table></section>")


def _totals(board: wb.Board) -> str:
    return (f'<section><div class="tiles"><div class="tile"><b>{yuan(board.used)}</b><span>已用（通过+已付）</span></div>'
            f'<div class="tile"><b>{yuan(board.pending)}</b><span>审批中</span></div></div></section>')


def _budget(card: wb.BudgetCard) -> str:
    s, b = card.status, card.burn
    left = max(s.remaining, Decimal(0))
    bar = stacked([("已用", float(s.used), yuan(s.used)), ("审批中", float(s.pending), yuan(s.pending)),
                   ("剩余", float(left), yuan(s.remaining))], float(s.budget.amount),
                  title=f"预算 {yuan(s.budget.amount)} · 已用 {s.percent}%")
    days = (b.end - b.start).days + 1
    points = [((d - b.start).days + 1, float(v)) for d, v in b.days]
    today = (b.today - b.start).days + 1 if b.start <= b.today <= b.end else None
    forecast = None if b.runs_out is None else (b.runs_out - b.start).days + 1
    chart = burn(points, days, today, float(s.budget.amount), forecast, title="本期支出进度（累计，含审批中）",
                 start=b.start.isoformat()[5:], end=b.end.isoformat()[5:])
    if today is None:
        pace = '<p class="note">该期间不含今天。</p>'
    elif b.runs_out is not None:
        pace = (f'<div class="warn">按目前每天约 {yuan(b.pace)} 的速度，预计 {b.runs_out.isoformat()} 用完。</div>')
    else:
        pace = f'<p class="note">按目前每天约 {yuan(b.pace)} 的速度，本期内不会用完。</p>'
    return f"<section><h2>{esc(s.budget.period)} {esc(card.category)}</h2>{bar}{chart}{pace}</section>"
