"""Process figures as people read them: which period and departments a request means, who may see
them, and the figures as a short chat report (used by `统计`, the weekly digest and the page).

Periods: `2026-11`, `2026-Q4`, `2026`, or words (本月, 上个月, 本季度, 今年, 本周, 上周 ...), in
BOT_TIMEZONE; without one, this month so far. Durations are wall-clock time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from chat.context import Context
from handlers.approval.cards import money
from handlers.budget import can_view
from handlers.budget_view import parse_period
from handlers.masking import group_details, group_name
from handlers.roles import is_finance
from handlers.status import span
from storage.org import Department, OrgRepo, OrgUser
from storage.stats import Durations, Figures, Window

EXPLICIT = re.compile(r"\d{4}(?:-(?:0[1-9]|1[0-2]|q[1-4]))?", re.IGNORECASE)
STEP_LIST = 3  # slowest steps, busiest approvers and oldest items shown in chat


@dataclass(frozen=True, slots=True)
class Span:
    """A period in local dates: [first, after)."""

    key: str
    first: date
    after: date


def _month(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _months(first: date, count: int) -> date:
    return _month(first, -count)


def _this_quarter(today: date) -> Span:
    first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    return Span(f"{today.year}-Q{(today.month - 1) // 3 + 1}", first, _months(first, 3))


def _week(today: date, back: int) -> Span:
    monday = today - timedelta(days=today.weekday() + 7 * back)
    return Span(f"{monday.isoformat()}~{(monday + timedelta(days=6)).isoformat()}", monday, monday + timedelta(days=7))


def _month_span(first: date) -> Span:
    return Span(first.strftime("%Y-%m"), first, _months(first, 1))


# words → the span they name, given today
WORDS: dict[str, Callable[[date], Span]] = {
    **dict.fromkeys(("本月", "这个月", "当月", "this month"), lambda d: _month_span(_month(d))),
    **dict.fromkeys(("上个月", "上月", "last month"), lambda d: _month_span(_month(d, 1))),
    **dict.fromkeys(("本季度", "这个季度", "this quarter"), _this_quarter),
    **dict.fromkeys(("今年", "本年", "this year"), lambda d: Span(str(d.year), date(d.year, 1, 1), date(d.year + 1, 1, 1))),
    **dict.fromkeys(("去年", "last year"), lambda d: Span(str(d.year - 1), date(d.year - 1, 1, 1), date(d.year, 1, 1))),
    **dict.fromkeys(("本周", "这周", "这个星期", "本星期", "this week"), lambda d: _week(d, 0)),
    **dict.fromkeys(("上周", "上个星期", "上星期", "last week"), lambda d: _week(d, 1)),
}


def explicit_span(text: str) -> Span | None:
    period = parse_period(text)
    if period is None:
        return None
    first = date.fromisoformat(period.month_from + "-01")
    after = _months(date.fromisoformat(period.month_to + "-01"), 1)
    return Span(period.key, first, after)


def span_in(text: str, today: date) -> Span | None:
    """The period a request names (a word or `2026-Q4`), None when it names none."""
    lowered = text.lower()
    for word in sorted(WORDS, key=len, reverse=True):
        if word in lowered:
            return WORDS[word](today)
    found = EXPLICIT.search(text)
    return explicit_span(found.group(0)) if found else None


def this_month(today: date) -> Span:
    return WORDS["本月"](today)


def window(ctx: Context, period: Span, departments: frozenset[int] | None) -> Window:
    zone = ctx.services.zone
    start = datetime.combine(period.first, time(0), tzinfo=zone)
    end = datetime.combine(period.after, time(0), tzinfo=zone)
    return Window(start, end, departments)


def window_payload(w: Window, now: datetime) -> dict[str, Any]:
    """A window and the instant its figures are taken at, as a timer's JSON payload."""
    return {"start": w.start.isoformat(), "end": w.end.isoformat(), "now": now.isoformat(),
            "departments": None if w.departments is None else sorted(w.departments)}


def window_from(payload: dict[str, Any]) -> tuple[Window, datetime]:
    departments = payload.get("departments")
    return (Window(datetime.fromisoformat(payload["start"]), datetime.fromisoformat(payload["end"]),
                   None if departments is None else frozenset(int(d) for d in departments)),
            datetime.fromisoformat(payload["now"]))


async def department_in(ctx: Context, text: str) -> Department | None:
    """A department a request names (研发 is enough for 研发部; a number is an id)."""
    org = ctx.repo(OrgRepo)
    for word in text.split():
        if word.isdigit() and (found := await org.department(int(word))) is not None:
            return found
    departments = sorted(await org.departments(), key=lambda d: -len(d.name))
    return next((d for d in departments if d.name and (d.name in text or (len(d.name) > 2 and d.name[:-1] in text))),
                None)


# who sees what -----------------------------------------------------------------------------------
class Refused(Exception):
    """The person may not see these figures; the message says why."""


async def scope_of(ctx: Context, user: OrgUser | None, dept: Department | None) -> tuple[frozenset[int] | None, str]:
    """The departments (None = all) and their label that `user` may see for a request naming `dept`.

    Finance reviewers and admins see everything; leaders the departments they lead and those below
    (a named department must be one of them); everyone else is refused.
    """
    org = ctx.repo(OrgRepo)
    if user is None or not user.active:
        raise Refused(ctx.t("通讯录里找不到你，无法查看统计。", "You are not in the directory, so no figures to show."))
    finance = is_finance(ctx, user)
    if not finance and not user.leader_in:
        raise Refused(ctx.t("统计只对财务人员和部门负责人开放。", "Figures are for finance staff and department leaders."))
    if dept is not None:
        if not finance and not await can_view(ctx, user, dept.id):
            raise Refused(ctx.t("你只能查看你负责的部门（及其下级部门）的统计。",
                                "You can see the figures of the departments you lead (and those below) only."))
        return frozenset(await org.descendants(dept.id)), dept.name
    if finance:
        return None, ctx.t("全公司", "whole company")
    ids: set[int] = set()
    names = []
    for led in user.leader_in:
        ids |= await org.descendants(led)
        found = await org.department(led)
        names.append(found.name if found else str(led))
    return frozenset(ids), "、".join(names)


# the report --------------------------------------------------------------------------------------
def length(ctx: Context, value: timedelta) -> str:
    """A duration to the nearest minute (figures are about hours and days, not seconds)."""
    return span(ctx, timedelta(minutes=round(value.total_seconds() / 60)))


def times(ctx: Context, d: Durations) -> str:
    if not d.count:
        return ctx.t("暂无", "none yet")
    assert d.average is not None and d.median is not None and d.p90 is not None
    return ctx.t(f"平均 {length(ctx, d.average)}，中位 {length(ctx, d.median)}，P90 {length(ctx, d.p90)}（{d.count} 次）",
                 f"avg {length(ctx, d.average)}, median {length(ctx, d.median)}, p90 {length(ctx, d.p90)} ({d.count})")


def pct(value: object) -> str:
    return "—" if value is None else f"{value}%"


async def report(ctx: Context, figures: Figures, period: str, label: str, *, title: str | None = None,
                 group: bool = False) -> str:
    """The figures in a few lines (chat messages stay short: WeCom caps a text at 2048 bytes). For a
    `group` chat the masking rules apply: totals only, or single items with names masked. `period`
    is the period's key, e.g. `2026-11`."""
    f = figures
    people = {a.user_id for a in f.approvers[:STEP_LIST]} | {w.approver for w in f.waiting[:STEP_LIST]}
    names = await ctx.repo(OrgRepo).names(people)
    if group:
        names = {u: group_name(ctx, n) for u, n in names.items()}
        if not group_details(ctx):
            f = replace(f, approvers=[], waiting=[])
    lines = [
        f"{title} {period}（{label}）" if title else ctx.t(f"📊 统计 {period}（{label}）",
                                                             f"📊 Figures {period} ({label})"),
        ctx.t(f"报销：提交 {f.filed.count} 笔 {money(f.filed.amount)}；通过 {f.approved.count} 笔 {money(f.approved.amount)}；"
              f"驳回 {f.rejected.count} 笔 {money(f.rejected.amount)}；撤回 {f.withdrawn.count} 笔；"
              f"付款 {f.paid.count} 笔 {money(f.paid.amount)}",
              f"Expenses: filed {f.filed.count} {money(f.filed.amount)}; approved {f.approved.count} "
              f"{money(f.approved.amount)}; rejected {f.rejected.count} {money(f.rejected.amount)}; "
              f"withdrawn {f.withdrawn.count}; paid {f.paid.count} {money(f.paid.amount)}"),
        ctx.t("审批用时（自然时间）：", "Approval time (wall clock): "),
        ctx.t(f"• 每步：{times(ctx, f.steps)}", f"• per step: {times(ctx, f.steps)}"),
        ctx.t(f"• 全程：{times(ctx, f.end_to_end)}", f"• end to end: {times(ctx, f.end_to_end)}"),
    ]
    if f.by_step:
        slow = "；".join(f"{s.name} {length(ctx, s.durations.average or timedelta())}" for s in f.by_step[:STEP_LIST])
        lines.append(ctx.t(f"最慢的步骤（平均）：{slow}", f"Slowest steps (avg): {slow}"))
    busy = [a for a in f.approvers if a.pending][:STEP_LIST]
    if busy:
        held = "；".join(f"{names.get(a.user_id, a.user_id)} {a.pending} 笔" + ctx.t(
            f"（最久 {length(ctx, ctx.now - a.oldest_since)}）" if a.oldest_since else "",
            f" (oldest {length(ctx, ctx.now - a.oldest_since)})" if a.oldest_since else "") for a in busy)
        lines.append(ctx.t(f"待审批最多：{held}", f"Most pending: {held}"))
    for w in f.waiting[:STEP_LIST]:
        lines.append(ctx.t(f"⏳ {w.number} {names.get(w.approver, w.approver)}（{w.step_name}）{money(w.amount)} "
                           f"已等 {length(ctx, ctx.now - w.since)}",
                           f"⏳ {w.number} {names.get(w.approver, w.approver)} ({w.step_name}) {money(w.amount)} "
                           f"waiting {length(ctx, ctx.now - w.since)}"))
    if f.delivery is not None:
        d = f.delivery
        lines.append(ctx.t(f"消息送达率 {pct(d.rate)}（发出 {d.sent}，其中重试 {d.retried}；搁置 {d.parked}，"
                           f"被拒收 {d.dropped}，排队中 {d.pending}）",
                           f"Messages delivered {pct(d.rate)} (sent {d.sent}, retried {d.retried}; parked "
                           f"{d.parked}, dropped {d.dropped}, queued {d.pending})"))
    o = f.ocr
    fixed = "、".join(f"{ctx.t(FIELD_ZH.get(k, k), k)} {n}" for k, n in o.corrected.items()) or ctx.t("无", "none")
    lines.append(ctx.t(f"发票识别成功率 {pct(o.success_rate)}（{o.reads} 次，提交 {o.filed}，原样提交 {o.filed_as_read}；"
                       f"更正：{fixed}）",
                       f"Invoice reading {pct(o.success_rate)} ({o.reads} reads, {o.filed} filed, "
                       f"{o.filed_as_read} as read; corrected: {fixed})"))
    dl = f.dialogs
    lines.append(ctx.t(f"对话完成率 {pct(dl.completion_rate)}（开始 {dl.started}，完成 {dl.outcomes.get('completed', 0)}，"
                       f"取消 {dl.outcomes.get('cancelled', 0)}，超时 {dl.outcomes.get('timed_out', 0)}）",
                       f"Dialogs completed {pct(dl.completion_rate)} (started {dl.started}, completed "
                       f"{dl.outcomes.get('completed', 0)}, cancelled {dl.outcomes.get('cancelled', 0)}, "
                       f"timed out {dl.outcomes.get('timed_out', 0)})"))
    fb = f.feedback
    avg = "—" if fb.average is None else f"{fb.average}/3"
    lines.append(ctx.t(f"反馈 {fb.notes} 条；评价 {fb.ratings} 次，平均 {avg}",
                       f"Feedback {fb.notes}; ratings {fb.ratings}, average {avg}"))
    return "\n".join(lines)


FIELD_ZH = {"total": "金额", "issue_date": "日期", "invoice_number": "发票号码"}
