"""Commands said without an expense number: act on the only candidate, or list them to pick from.

`同意`, `驳回 理由`, `撤回`, `进度`, `重新提交` without a number each know their candidates (what
waits for the approver, the sender's pending or rejected expenses). One candidate: the command
acts on it at once and names it. Several: a numbered list, and the answer `1` (or `第二个`, or the
number itself) acts on that one. Each capability registers what its verb does with `@action`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chat.context import Context
from dialogs import DialogSpec, Invalid, Slot, Turn, register, start_dialog
from dialogs.money import read_amount

Act = Callable[[Context, str, str], Awaitable[None]]  # (ctx, expense number, the rest of what was said)
SPEC = "pick"
_ACTIONS: dict[str, Act] = {}
_ORDINAL = re.compile(r"^(?:第|no\.?\s*|#)?\s*([0-9一二两三四五六七八九十]+)\s*(?:个|条|笔|号|项|张|行)?$", re.IGNORECASE)
_NUMBER = re.compile(r"BX\d{8}-\d{4,}", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    number: str
    line: str  # how it is listed: number, amount, category, who ...


def action(verb: str) -> Callable[[Act], Act]:
    """Register what `verb` does to the expense picked (it checks again that it still may)."""

    def register_action(fn: Act) -> Act:
        _ACTIONS[verb] = fn
        return fn

    return register_action


async def act(ctx: Context, verb: str, said: tuple[str, str] | None,
              find: Callable[[], Awaitable[list[Candidate]]], *, lead: tuple[str, str], none: tuple[str, str]) -> None:
    """`said` (number, rest) when the message named an expense; otherwise the candidates `find` gives."""
    if said is not None:
        await _ACTIONS[verb](ctx, *said)
        return
    await choose(ctx, verb, await find(), ctx.args.strip(), lead=lead, none=none)


async def choose(ctx: Context, verb: str, candidates: list[Candidate], rest: str, *,
                 lead: tuple[str, str], none: tuple[str, str]) -> None:
    """Act on the only candidate, list several to pick from, or say `none` when there is nothing."""
    if not candidates:
        await ctx.reply(ctx.t(*none))
        return
    if len(candidates) == 1:
        await _ACTIONS[verb](ctx, candidates[0].number, rest)
        return
    await start_dialog(ctx, SPEC, {"verb": verb, "lead": list(lead), "rest": rest,
                                   "numbers": [c.number for c in candidates], "lines": [c.line for c in candidates]})


def _prompt(turn: Turn) -> str:
    lines = [turn.t(*turn.data["lead"])]
    lines += [f"{i}. {line}" for i, line in enumerate(turn.data["lines"], 1)]
    lines.append(turn.t("回复序号选择（例如「1」），发送「取消」放弃。", 'Reply with the number in the list (e.g. "1"), or "cancel".'))
    return "\n".join(lines)


def ordinal(text: str, count: int) -> int | None:
    """The place in a numbered list of `count` that an answer names (`1`, `第二个`, `#3`), from 1."""
    m = _ORDINAL.match(text.strip())
    read = read_amount(m.group(1)) if m else None
    if read is not None and read.value == int(read.value) and 1 <= read.value <= count:
        return int(read.value)
    return None


def _pick(turn: Turn, text: str) -> str:
    numbers: list[str] = turn.data["numbers"]
    named = _NUMBER.search(text)
    if named and named.group(0).upper() in numbers:
        return named.group(0).upper()
    place = ordinal(text, len(numbers))
    if place is not None:
        return numbers[place - 1]
    raise Invalid(f"请回复 1 到 {len(numbers)} 之间的序号。", f"Please reply with a number from 1 to {len(numbers)}.")


async def _picked(turn: Turn) -> None:
    ctx, verb, number, rest = turn.ctx, str(turn.data["verb"]), str(turn.data["choice"]), str(turn.data["rest"])
    await turn.finish()
    await _ACTIONS[verb](ctx, number, rest)


register(DialogSpec(
    name=SPEC,
    title=("选择", "choice"),
    slots=(Slot("choice", ("序号", "choice"), _prompt, _pick, example=("1", "1")),),
    on_complete=_picked,
))
