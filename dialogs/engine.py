"""The conversation engine: declared dialogs, one per user, persisted on every turn.

A `DialogSpec` lists slots (values to collect, each with a prompt and a parser) and explicit
states (a prompt plus a text handler, e.g. 'confirm'). The engine fills missing slots in order,
re-asks with a hint when input does not parse (keeping everything entered so far), applies
`修改 <字段> <值>` / `edit <field> <value>` and `取消` / `cancel` in any state, and ends idle dialogs
through a durable timer. State lives in SQLite, so a restart continues where the user was.

Every prompt says how to leave. A message that is clearly something else (a new request, as the
`interrupt` given to `build_router` judges) is not taken as an answer: it goes to the other
handlers, and the dialog is either replaced (the new handler starts one, which says so) or kept,
with a line saying so.

Handlers call `start_dialog`, `active_dialog`, `end_dialog`; the router built by `build_router`
(included in the root router) feeds the user's messages to their dialog.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from dialogs.parsing import Invalid, is_cancel, is_skip, is_yes, normalize
from storage.dialogs import DialogRecord, DialogRepo

if TYPE_CHECKING:
    from chat.context import Context
    from chat.router import Router

TIMER_KIND = "dialog_timeout"
ROUTE = "dialogs.active"
SEEN = "_msg"
Text = tuple[str, str]
Prompt = Callable[["Turn"], str | Awaitable[str]]
Parser = Callable[["Turn", str], Any]
Step = Callable[["Turn"], Awaitable[None]]
TextStep = Callable[["Turn", str], Awaitable[None]]
EndStep = Callable[["Turn", str], Awaitable[None]]
KEEP_WORDS = frozenset({"保留", "keep", "没错", "正确", "不变"})
EDIT_WORDS = frozenset({"修改", "更改", "edit", "change"})
_EDIT = re.compile(r"^(修改|更改|改|(?:edit|change|set)\b)\s*(.*)$", re.IGNORECASE | re.DOTALL)
_EDIT_SEP = re.compile(r"^(?:\s*(?:为|成|=|:|：|to)\s*|\s+)", re.IGNORECASE)


@dataclass(frozen=True)
class Slot:
    """A value the dialog collects; `parse` returns a JSON-friendly value or raises `Invalid`."""

    name: str
    label: Text
    prompt: Prompt | Text
    parse: Parser
    aliases: tuple[str, ...] = ()
    example: Text = ("", "")
    required: bool = True
    ask: bool = True
    show: Callable[[Any], str] = str
    free_text: bool = False  # any text is a valid answer (a description, a reason)

    @property
    def words(self) -> tuple[str, ...]:
        """What a person may call this slot in `修改 <字段> <值>`."""
        return (self.name, *self.label, *self.aliases)


@dataclass(frozen=True)
class State:
    """An explicit step that is not a plain slot (e.g. 'confirm'): a prompt and a text handler."""

    name: str
    prompt: Prompt | Text
    on_text: TextStep
    markdown: bool = False


@dataclass(frozen=True)
class DialogSpec:
    """A declared conversation.

    After every accepted value the engine moves to the first missing slot, then to the first slot
    still marked unsure, then to `final` (a `State`), or, without one, calls `on_complete`.
    `on_media` receives images/files sent while the dialog is open (None: not this dialog's
    business, they go to the other handlers). `on_end` hears about cancel / timeout / replaced.
    `entry_words` are the commands that start this dialog: typed inside any dialog they restart
    instead of being read as an answer. `read_sentence`, when given, is tried on an answer that does
    not fit the awaited slot: it may fill several slots from one sentence (`昨天打车花了35`) and
    returns whether it filled any.
    """

    name: str
    title: Text
    slots: tuple[Slot, ...] = ()
    states: tuple[State, ...] = ()
    final: str | None = None
    on_complete: Step | None = None
    on_media: Step | None = None
    on_end: EndStep | None = None
    entry_words: tuple[str, ...] = ()
    read_sentence: Callable[[Turn, str], Awaitable[bool]] | None = None

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)

    def state(self, name: str) -> State | None:
        return next((s for s in self.states if s.name == name), None)

    def slot_by_label(self, text: str) -> tuple[Slot, str] | None:
        """The slot whose label starts `text` (longest label wins) and the text after it."""
        lowered = text.lower()
        best: tuple[Slot, str] | None = None
        best_len = 0
        for slot in self.slots:
            for label in slot.words:
                if lowered.startswith(label.lower()) and len(label) > best_len:
                    rest = text[len(label):]
                    if rest and label[-1].isascii() and label[-1].isalnum() and rest[0].isascii() and rest[0].isalnum():
                        continue  # 'amountx' is not the label 'amount'
                    best, best_len = (slot, rest), len(label)
        return best


_REGISTRY: dict[str, DialogSpec] = {}


def register(spec: DialogSpec) -> DialogSpec:
    """Make a dialog startable by name; each name once."""
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"dialog {spec.name!r} is already registered")
    _check(spec)
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> DialogSpec | None:
    return _REGISTRY.get(name)


def _check(spec: DialogSpec) -> None:
    names = [s.name for s in spec.slots] + [s.name for s in spec.states]
    if len(set(names)) != len(names):
        raise ValueError(f"dialog {spec.name!r}: slot and state names must be unique")
    if spec.final is not None and spec.state(spec.final) is None:
        raise ValueError(f"dialog {spec.name!r}: final state {spec.final!r} is not declared")
    if spec.final is None and spec.on_complete is None:
        raise ValueError(f"dialog {spec.name!r}: needs a final state or on_complete")


@dataclass(frozen=True)
class Unsure:
    """A parser's value that should be shown and confirmed before use (e.g. 一二零 read as 120)."""

    value: Any


@dataclass(frozen=True)
class Awaiting:
    """What an open dialog waits for, as an `interrupt` judges a message against it."""

    spec: str
    state: str
    data: dict[str, Any]
    fits: bool  # the message is a valid answer to the awaited slot or state
    free_text: bool  # the awaited slot takes any text


Interrupt = Callable[["Context", Awaiting], Awaitable[bool]]


@dataclass
class Turn:
    """One message's view of a dialog: its data, its state, and the moves a handler can make."""

    ctx: Context
    spec: DialogSpec
    state: str
    data: dict[str, Any]
    started_at: datetime
    expires_at: datetime
    finished: bool = False
    _notes: list[str] = field(default_factory=list)

    # reading -------------------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return str(self.data.get("_lang", "zh"))

    def t(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh

    def text(self, pair: Text) -> str:
        return self.t(*pair)

    @property
    def unsure(self) -> list[str]:
        return list(self.data.get("_unsure", []))

    def has(self, slot: str) -> bool:
        return slot in self.data

    def shown(self, slot_name: str) -> str:
        slot = self.spec.slot(slot_name)
        value = self.data.get(slot_name)
        if slot is None or value is None or value == "":
            return "—"
        return slot.show(value)

    # changing ------------------------------------------------------------------------------------
    def set(self, slot: str, value: Any, *, unsure: bool = False) -> None:
        self.data[slot] = value
        marks = [s for s in self.unsure if s != slot]
        if unsure:
            marks.append(slot)
        self.data["_unsure"] = marks

    def note(self, text: str) -> None:
        """Say something before the next prompt, in the same message."""
        self._notes.append(text)

    async def reply(self, text: str, *, markdown: bool = False) -> None:
        content = "\n\n".join(p for p in [*self._notes, text] if p)
        self._notes.clear()
        if content:
            await self.ctx.reply(content, markdown=markdown)

    async def goto(self, name: str) -> None:
        """Enter a state (or ask for a slot) and show its prompt."""
        self.state = name
        state = self.spec.state(name)
        if state is not None:
            await self.reply(self._with_exit(await _render(state.prompt, self)), markdown=state.markdown)
            return
        slot = self.spec.slot(name)
        if slot is None:
            raise ValueError(f"dialog {self.spec.name!r} has no state {name!r}")
        prompt = await _render(slot.prompt, self)
        if name in self.unsure and self.has(name):
            prompt = self.t(
                f"{prompt}\n（识别为 {self.shown(name)}，不太确定：正确请回复「对」，否则直接回复正确的值）",
                f"{prompt}\n(read as {self.shown(name)}, not sure: reply \"ok\" if right, or type the right value)",
            )
        elif not slot.required:
            prompt += self.t("\n（没有可回复「无」）", "\n(reply \"none\" to skip)")
        await self.reply(self._with_exit(prompt))

    def _with_exit(self, prompt: str) -> str:
        """Every question says how to leave the dialog (unless it already does)."""
        if "取消" in prompt or "cancel" in prompt.lower():
            return prompt
        return prompt + self.t("\n（发送「取消」可退出）", '\n(say "cancel" to stop)')

    def next_state(self) -> str | None:
        if self.state in self.unsure and self.spec.slot(self.state) is not None:
            return self.state  # an answer read but not sure of is confirmed before anything else
        for slot in self.spec.slots:
            if slot.ask and not self.has(slot.name):
                return slot.name
        for name in self.unsure:
            if self.spec.slot(name) is not None:
                return name
        return self.spec.final

    async def advance(self) -> None:
        """Go to whatever the dialog needs next (slot filling), or complete it."""
        name = self.next_state()
        if name is not None:
            await self.goto(name)
            return
        assert self.spec.on_complete is not None
        await self.spec.on_complete(self)
        if not self.finished:
            await self.finish()

    async def finish(self, text: str | None = None, *, markdown: bool = False) -> None:
        """End the dialog (the work is done or abandoned); optionally say a last word."""
        self.finished = True
        await self.ctx.repo(DialogRepo).delete(self.ctx.msg.user_id)
        await self.ctx.cancel_timer(_timer_key(self.ctx.msg.user_id))
        await self.reply(text or "", markdown=markdown)

    async def fill(self, slot: Slot, text: str) -> bool:
        """Parse `text` into `slot`; on bad input re-ask with the hint and an example (data kept)."""
        if not slot.required and is_skip(text):
            self.set(slot.name, "")
            return True
        if slot.name in self.unsure and self.has(slot.name) and (is_yes(text) or _word(text) in KEEP_WORDS):
            self.set(slot.name, self.data[slot.name])
            return True
        try:
            value = slot.parse(self, text)
        except Invalid as exc:
            if self.spec.read_sentence is not None and await self.spec.read_sentence(self, text):
                return True
            await self._reask(slot, exc)
            return False
        if isinstance(value, Unsure):
            self.set(slot.name, value.value, unsure=True)
            return True
        self.set(slot.name, value)
        return True

    async def _reask(self, slot: Slot, exc: Invalid) -> None:
        """Say what was wrong, with an example and what is kept so far."""
        example = self.text(slot.example)
        lead = exc.text(self.lang)
        if example:
            lead += self.t(f"\n例如：{example}", f"\nFor example: {example}")
        kept = self._kept()
        if kept:
            lead += self.t(f"\n（已填写：{kept}，不用重填）", f"\n(kept so far: {kept})")
        await self.reply(self._with_exit(lead))

    def _kept(self) -> str:
        parts = [f"{self.text(s.label)} {self.shown(s.name)}"
                 for s in self.spec.slots if self.data.get(s.name) not in (None, "")]
        return self.t("，", ", ").join(parts)


async def _render(prompt: Prompt | Text, turn: Turn) -> str:
    if isinstance(prompt, tuple):
        return turn.text(prompt)
    result = prompt(turn)
    if inspect.isawaitable(result):
        result = await result
    return str(result)


def _word(text: str) -> str:
    return normalize(text).lower().rstrip("。.!！~")


def _timer_key(user_id: str) -> str:
    return f"dialog:{user_id}"


def _lang_of(text: str) -> str | None:
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    if re.search(r"[A-Za-z]", text):
        return "en"
    return None


# persistence -------------------------------------------------------------------------------------


def timeout_of(ctx: Context) -> timedelta:
    return timedelta(minutes=ctx.settings.bot_dialog_timeout_minutes)


async def _save(turn: Turn) -> None:
    if turn.finished:
        return
    ctx = turn.ctx
    turn.data[SEEN] = ctx.msg.inbox_id  # this message spoke to the dialog (see _still_open)
    expires = ctx.now + timeout_of(ctx)
    record = DialogRecord(ctx.msg.user_id, turn.spec.name, turn.state, turn.data, turn.started_at, ctx.now, expires)
    await ctx.repo(DialogRepo).save(record)
    await ctx.schedule(TIMER_KIND, _timer_key(ctx.msg.user_id), expires, {"user": ctx.msg.user_id})


async def _load(ctx: Context) -> Turn | None:
    record = await ctx.repo(DialogRepo).get(ctx.msg.user_id)
    if record is None:
        return None
    spec = get_spec(record.spec)
    if spec is None:  # a dialog kind that no longer exists: forget it rather than trap the user
        await ctx.repo(DialogRepo).delete(ctx.msg.user_id)
        return None
    return Turn(ctx, spec, record.state, dict(record.data), record.started_at, record.expires_at)


# public API --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveDialog:
    spec: str
    state: str
    data: dict[str, Any]
    started_at: datetime
    expires_at: datetime


async def active_dialog(ctx: Context) -> ActiveDialog | None:
    """The sender's open dialog, if any: open until finished, cancelled, or closed by its timeout."""
    record = await ctx.repo(DialogRepo).get(ctx.msg.user_id)
    if record is None or get_spec(record.spec) is None:
        return None
    return ActiveDialog(record.spec, record.state, dict(record.data), record.started_at, record.expires_at)


async def start_dialog(ctx: Context, spec_name: str, data: dict[str, Any] | None = None, *,
                       state: str | None = None, note: str | None = None) -> Turn:
    """Open `spec_name` for the sender (replacing any open dialog) and ask its first question.

    `data` pre-fills slots; `state` starts at a given state instead of the first missing slot;
    `note` is said before the first prompt.
    """
    spec = get_spec(spec_name)
    if spec is None:
        raise KeyError(f"unknown dialog {spec_name!r}")
    old = await _load(ctx)
    lang = {"_lang": _lang_of(ctx.msg.text)} if _lang_of(ctx.msg.text) else {}
    turn = Turn(ctx, spec, state or "", {**lang, **(data or {})}, ctx.now, ctx.now + timeout_of(ctx))
    if old is not None:
        if old.spec.on_end is not None:
            await old.spec.on_end(old, "replaced")
        turn.note(turn.t(f"（之前未完成的{old.text(old.spec.title)}已放弃）",
                         f"(the unfinished {old.text(old.spec.title)} was dropped)"))
    if note:
        turn.note(note)
    kept = turn._kept()
    if kept and not state and turn.next_state() != spec.final and turn.next_state() in {s.name for s in spec.slots}:
        turn.note(turn.t(f"已记下：{kept}", f"Noted: {kept}"))
    if state:
        await turn.goto(state)
    else:
        await turn.advance()
    await _save(turn)
    return turn


async def end_dialog(ctx: Context) -> bool:
    """Close the sender's dialog without a message; False when none was open."""
    await ctx.cancel_timer(_timer_key(ctx.msg.user_id))
    return await ctx.repo(DialogRepo).delete(ctx.msg.user_id)


# routing -----------------------------------------------------------------------------------------


async def _claims(ctx: Context, interrupt: Interrupt | None) -> bool:
    msg = ctx.msg
    if msg.source not in ("app", "upload") or msg.msg_type not in ("text", "image", "file"):
        return False
    turn = await _load(ctx)
    if turn is None:
        return False
    if msg.msg_type != "text":
        return turn.spec.on_media is not None
    text = normalize(msg.text)
    first = text.split(maxsplit=1)
    head = first[0].lower() if first else ""
    entry = {w.lower() for s in _REGISTRY.values() for w in s.entry_words}
    if any(head == w or (head.startswith(w) and not w.isascii()) for w in entry):
        return False
    if interrupt is None or is_cancel(text) or _EDIT.match(text):
        return True
    return not await interrupt(ctx, _awaiting(turn, text))


def _awaiting(turn: Turn, text: str) -> Awaiting:
    """What the dialog waits for, and whether `text` is a valid answer to it (parsed, not applied)."""
    slot = turn.spec.slot(turn.state)
    if slot is None:
        fits = is_yes(text)
    elif slot.free_text or (not slot.required and is_skip(text)):
        fits = True
    elif slot.name in turn.unsure and (is_yes(text) or _word(text) in KEEP_WORDS):
        fits = True  # 好的 confirms what was read
    else:
        try:
            slot.parse(turn, text)
            fits = True
        except Invalid:
            fits = False
    return Awaiting(turn.spec.name, turn.state, dict(turn.data), fits, slot is not None and slot.free_text)


async def _on_message(ctx: Context) -> None:
    turn = await _load(ctx)
    if turn is None:
        return
    if ctx.msg.msg_type != "text":
        assert turn.spec.on_media is not None
        await turn.spec.on_media(turn)
        await _save(turn)
        return
    text = normalize(ctx.msg.text)
    if "_lang" not in turn.data and (lang := _lang_of(text)):
        turn.data["_lang"] = lang  # a dialog opened without words (a card click, a photo) speaks like its first answer
    if is_cancel(text):
        if turn.spec.on_end is not None:
            await turn.spec.on_end(turn, "cancel")
        await turn.finish(turn.t(f"已取消{turn.text(turn.spec.title)}，填写的内容没有提交。",
                                 f"Cancelled the {turn.text(turn.spec.title)}; nothing was submitted."))
        return
    if not await _edit(turn, text):
        await _answer(turn, text)
    await _save(turn)


async def _answer(turn: Turn, text: str) -> None:
    state = turn.spec.state(turn.state)
    if state is not None:
        await state.on_text(turn, text)
        return
    slot = turn.spec.slot(turn.state)
    if slot is None:  # the stored state vanished from the spec: pick up wherever it needs now
        await turn.advance()
        return
    if await turn.fill(slot, text):
        await turn.advance()


async def _edit(turn: Turn, text: str) -> bool:
    """`修改 <字段> <值>`: set one slot from any state; False when `text` is not an edit."""
    m = _EDIT.match(text)
    if m is None or not turn.spec.slots:
        return False
    found = turn.spec.slot_by_label(m.group(2).strip())
    if found is None:
        if m.group(1).lower() not in EDIT_WORDS:
            return False  # 改 followed by no field name is just text (改天…)
        first = turn.spec.slots[0]
        names = turn.t("、", ", ").join(turn.text(s.label) for s in turn.spec.slots)
        await turn.reply(turn.t(f"可以修改：{names}。例如「修改 {first.label[0]} {first.example[0]}」",
                                f"You can edit: {names}. For example \"edit {first.label[1]} {first.example[1]}\""))
        return True
    slot, value = found
    value = _EDIT_SEP.sub("", value, count=1).strip()
    if not value:
        await turn.goto(slot.name)
    elif await turn.fill(slot, value):
        await turn.advance()
    return True


async def _on_timeout(ctx: Context) -> None:
    turn = await _load(ctx)
    if turn is None or turn.expires_at > ctx.now:
        return  # the user answered after this timer was set; a later timer covers the new deadline
    minutes = ctx.settings.bot_dialog_timeout_minutes
    if turn.spec.on_end is not None:
        await turn.spec.on_end(turn, "timeout")
    title = turn.text(turn.spec.title)
    await turn.finish(turn.t(f"{minutes} 分钟没有回复，{title}已自动结束，填写的内容没有提交。需要时请重新开始。",
                             f"No reply for {minutes} minutes, so the {title} was closed; nothing was submitted."))


async def _still_open(ctx: Context, route: str) -> None:
    """A message answered by another handler while a dialog is open: say the dialog is kept."""
    if route == ROUTE or ctx.msg.msg_type != "text" or ctx.msg.source != "app":
        return
    turn = await _load(ctx)
    if turn is None or turn.data.get(SEEN) == ctx.msg.inbox_id:
        return  # none open, or this message opened or answered it
    await ctx.reply(turn.t(f"（{turn.text(turn.spec.title)}还没完成，已为你保留：接着回复即可，发送「取消」放弃）",
                           f"(your {turn.text(turn.spec.title)} is still open: carry on, or say \"cancel\")"))


def build_router(interrupt: Interrupt | None = None) -> Router:
    """The routes that feed messages and timeouts to dialogs (include once in the root router).

    `interrupt(ctx, awaiting)` says whether a text is something else than an answer (a new request);
    such messages go on to the other routes, and the dialog stays open unless they replace it.
    """
    from chat.router import Priority, Router

    router = Router("dialogs")

    async def claims(ctx: Context) -> bool:
        return await _claims(ctx, interrupt)

    router.when(claims, priority=Priority.DIALOG, name="active")(_on_message)
    router.timer(TIMER_KIND)(_on_timeout)
    router.after(_still_open)
    return router
