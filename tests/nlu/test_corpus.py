"""Utterance corpora, driven black-box through the WeCom callback: is each one understood?

Every `corpus/*.tsv` runs (drop a held-out file beside utterances.tsv and it runs too). Columns:
group, user, text, expected intent, expected slots (`amount=860;date=2026-11-20;category=招待`, `-`
for "must not be set"). The world is the usual one (simulator + real bot + SQLite, clock at
Wednesday 2026-11-25 10:00 Shanghai) with a little history: the approver wangfang always has two
expenses of liuyang's waiting, and liuyang has one rejected expense.

WeCom lets an app send a member only so many messages a minute, so a busy persona is played by
stand-ins: copies of the member in the same department with the same leader (wangfang and
liuyang as a team: a 前端组 copy led by a wangfang copy), each speaking a few lines.

What the bot understood is observed from outside, as a person would see it: the dialog it opened
(and the values it holds), or what its answer says. The test reports understanding per group and
fails below 90 % in any group, and on any amount that is wrong: a wrong amount is worse than a
question, so an amount not given must stay unset, and one given must be exactly it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.handlers.approval_helpers import db_rows, file_expense, wait_card
from tests.world import World, message_text

CORPUS = sorted(Path(__file__).with_name("corpus").glob("*.tsv"))
PASS_RATE = 0.9
LEADER, MEMBER = "wangfang", "liuyang"  # the team with history: MEMBER's expenses wait for LEADER
LINES_PER_STAND_IN = 6  # well inside WeCom's per-member minute limit, with the answers and set-up

# (intent, words in the bot's answer that show it), tried in order after the open dialog
ANSWERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("unknown", ("没太明白", "did not understand")),
    ("resubmit", ("已复制", "Copied", "无需重新提交", "只有被驳回或撤回的报销")),
    ("mine", ("你最近的报销", "Your recent expenses")),
    ("todo", ("等你审批的报销（", "没有等你审批的报销。", "Waiting for your decision", "Nothing waits for your")),
    ("status", ("状态：", "Status: ", "不存在，或你无权查看")),
    ("budget", ("预算（", "没有设置预算", "budgets (", "has no budget")),
    ("smalltalk", ("不客气", "再见", "你好！", "好的 👌", "welcome", "Bye", "Hi!", "OK 👌")),
    ("help", ("我是财务助手", "I am the finance assistant")),
    ("approve", ("已同意", "无需同意", "Approved")),
    ("reject", ("已驳回", "无需驳回", "Rejected")),
    ("withdraw", ("已撤回", "无需撤回", "Withdrew")),
    ("cancel", ("没有进行中的事", "Nothing is in progress")),
)


@dataclass(frozen=True)
class Case:
    group: str
    user: str
    text: str
    intent: str
    slots: dict[str, str]


@dataclass
class Outcome:
    intent: str
    data: dict[str, Any] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)


def load(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        group, user, text, intent, *rest = line.split("\t")
        slots = dict(p.split("=", 1) for p in (rest[0].split(";") if rest and rest[0] else []))
        cases.append(Case(group, user, text, intent, slots))
    return cases


def waiting_for(world: World, user: str) -> list[str]:
    return [r[0] for r in db_rows(world, "SELECT t.number FROM approval_tasks t JOIN expenses e ON e.id = t.expense_id "
                                      "WHERE t.approver = ? AND t.status = 'pending' AND e.status = 'submitted' "
                                      "AND t.step = e.current_step ORDER BY t.id", (user,))]


def numbers_of(world: World, user: str, status: str) -> list[str]:
    return [r[0] for r in db_rows(world, "SELECT number FROM expenses WHERE submitter = ? AND status = ? ORDER BY id",
                               (user, status))]


async def exchange(world: World, user: str, text: str) -> list[str]:
    """Say `text` as `user`; every answer the bot sent them, once all is delivered."""
    after = len(world.sim.messages)
    await world.say(user, text)
    await world.delivered()
    return [message_text(m) for m in world.sim.messages[after:] if user in m.touser]


class Cast:
    """Who speaks each line: a stand-in for the persona, made before the bot starts and syncs."""

    def __init__(self, world: World, cases: list[Case]) -> None:
        self.world = world
        self.lines: dict[str, int] = {}
        self.ready: set[int] = set()
        org = world.sim.org
        needed: dict[str, int] = {}
        for case in cases:
            needed[case.user] = needed.get(case.user, 0) + 1
        teams = -(-max(needed.get(LEADER, 0), needed.get(MEMBER, 0)) // LINES_PER_STAND_IN)
        home = org.users[MEMBER].departments[0]
        for k in range(1, teams + 1):
            dept = 1000 + k
            world.sim.add_department(dept, f"{org.departments[home].name}{k}", org.departments[home].parent_id)
            world.sim.add_user(f"{LEADER}_{k}", f"{org.users[LEADER].name}{k}", [dept], leader_in=[dept],
                               direct_leader=org.users[LEADER].direct_leader)
            world.sim.add_user(f"{MEMBER}_{k}", f"{org.users[MEMBER].name}{k}", [dept], direct_leader=[f"{LEADER}_{k}"])
        for persona, count in needed.items():
            user = org.users[persona]
            if persona in (LEADER, MEMBER) or user.leader_in:
                continue
            for k in range(1, -(-count // LINES_PER_STAND_IN) + 1):
                world.sim.add_user(f"{persona}_{k}", f"{user.name}{k}", list(user.departments),
                                   direct_leader=user.direct_leader)

    async def speaker(self, persona: str) -> str:
        if self.world.sim.org.users[persona].leader_in and persona != LEADER:
            return persona  # other leaders speak a line or two themselves
        self.lines[persona] = self.lines.get(persona, 0) + 1
        k = (self.lines[persona] - 1) // LINES_PER_STAND_IN + 1
        if persona in (LEADER, MEMBER) and k not in self.ready:
            await self.prepare(k)
        return f"{persona}_{k}"

    async def prepare(self, k: int) -> None:
        """The team's history: one rejected expense, two waiting for the leader."""
        leader, member = f"{LEADER}_{k}", f"{MEMBER}_{k}"
        rejected = await file_expense(self.world, member, "640", "办公", "显示器支架")
        await wait_card(self.world, leader, rejected)
        await exchange(self.world, leader, f"驳回 {rejected} 发票抬头不对")
        self.ready.add(k)
        await self.keep_waiting()

    async def keep_waiting(self) -> None:
        for k in self.ready:
            while len(waiting_for(self.world, f"{LEADER}_{k}")) < 2:
                number = await file_expense(self.world, f"{MEMBER}_{k}", "900", "办公", "键盘")
                await wait_card(self.world, f"{LEADER}_{k}", number)


def fill(text: str, user: str, world: World) -> str:
    if "{wait}" in text:
        text = text.replace("{wait}", waiting_for(world, user)[0])
    if "{mine}" in text:
        text = text.replace("{mine}", numbers_of(world, user, "submitted")[-1])
    if "{rejected}" in text:
        text = text.replace("{rejected}", numbers_of(world, user, "rejected")[0])
    return text


async def observe(world: World, user: str, text: str) -> Outcome:
    replies = await exchange(world, user, fill(text, user, world))
    dialog = db_rows(world, "SELECT spec, data FROM dialogs WHERE user_id = ?", (user,))
    if dialog:
        await exchange(world, user, "取消")  # the next line starts afresh
    said = "\n".join(replies)
    if dialog:
        spec, data = dialog[0][0], json.loads(dialog[0][1])
        if spec == "expense":
            return Outcome("resubmit" if "已复制" in said or "Copied" in said else "expense", data, replies)
        if spec == "pick":
            return Outcome(str(data["verb"]), data, replies)
        if spec == "approval.reject_reason":
            return Outcome("reject", data, replies)
    for intent, marks in ANSWERS:
        if any(mark in said for mark in marks):
            return Outcome(intent, {}, replies)
    return Outcome("?", {}, replies)


def slot_errors(case: Case, outcome: Outcome) -> list[str]:
    """What differs from the expected slots (the intent being right)."""
    errors = []
    for name in ("amount", "date", "category"):
        if name not in case.slots:
            continue
        want, got = case.slots[name], outcome.data.get(name)
        same = got == want if name != "amount" or got is None or want == "-" else Decimal(str(got)) == Decimal(want)
        if (want == "-" and got is not None) or (want != "-" and not same):
            errors.append(f"{name} {got} != {want}")
    return errors


def wrong_amount(case: Case, outcome: Outcome) -> bool:
    """An amount read from the line that is not the one said (a copy made by 重新提交 is not read)."""
    got = outcome.data.get("amount")
    if got is None or outcome.intent == "resubmit":
        return False
    want = case.slots.get("amount", "-")
    return want == "-" or Decimal(str(got)) != Decimal(want)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
async def test_corpus_is_understood(bare_world: World, path: Path) -> None:
    world, cases = bare_world, load(path)
    cast = Cast(world, cases)
    world.sim.per_user_minute_limit = None  # the world's clock stands still, so no minute would ever pass
    await world.start_bot()
    totals: dict[str, list[int]] = {}
    misses: list[str] = []
    wrong_amounts: list[str] = []
    for case in cases:
        outcome = await observe(world, await cast.speaker(case.user), case.text)
        errors = slot_errors(case, outcome) if outcome.intent == case.intent else [f"intent {outcome.intent}"]
        totals.setdefault(case.group, [0, 0])[0] += not errors
        totals[case.group][1] += 1
        if errors:
            misses.append(f"{case.group} {case.text!r}: {'; '.join(errors)}")
        if wrong_amount(case, outcome):
            wrong_amounts.append(f"{case.text!r}: {outcome.data.get('amount')}")
        await cast.keep_waiting()
    report = [f"{path.name}: {sum(t[0] for t in totals.values())}/{len(cases)} understood"]
    report += [f"  {group:10} {ok}/{n} = {ok / n:.0%}" for group, (ok, n) in sorted(totals.items())]
    report += [f"  miss: {m}" for m in misses]
    print("\n".join(report))
    assert not wrong_amounts, wrong_amounts
    assert all(ok / n >= PASS_RATE for ok, n in totals.values()), "\n".join(report)
    assert len(cases) >= 150 or path.name != "utterances.tsv"
