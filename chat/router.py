"""Declarative routing: handlers are registered with the conditions they answer to.

Each capability module owns a `Router` and registers its handlers by command word (Chinese and
English aliases), message type, event, card key prefix or timer kind. The root router tries routes
by priority, then registration order, and the first match handles the message (aiogram-style).
Priorities encode the chat rules: card clicks first, then global commands (answered even inside
a dialog without losing it), then the active dialog, then commands that start something, then
free text understood by intent (a route whose condition asks the classifier), then plain message
types, then the friendly fallback. `after` hooks run once a handler has answered.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from chat.context import Context, Handler
from chat.message import Inbound

Filter = Callable[[Context], bool | Awaitable[bool]]
Prepare = Callable[[Inbound, Any], Awaitable[Any]]
After = Callable[[Context, str], Awaitable[None]]


class Priority(IntEnum):
    CARD = 0
    EVENT = 5
    GLOBAL = 10
    DIALOG = 20
    COMMAND = 30
    INTENT = 35
    MESSAGE = 40
    FALLBACK = 100


@dataclass(frozen=True)
class Route:
    name: str
    priority: int
    order: int
    match: Filter
    handler: Handler
    words: tuple[str, ...] = ()


_CJK_START = re.compile(r"[\u4e00-\u9fff]")


def split_command(text: str, words: Iterable[str]) -> str | None:
    """The text after a command word, or None when the text does not start with one.

    `报销 58` and `报销58` both start 报销; `报销单` does not (a CJK character follows), nor does
    `helpful` start `help`.
    """
    stripped = text.strip()
    lowered = stripped.lower()
    for word in sorted(words, key=len, reverse=True):
        w = word.lower()
        if not lowered.startswith(w):
            continue
        rest = stripped[len(w) :]
        if not rest:
            return ""
        if rest[0].isspace() or (_CJK_START.match(w[-1]) and not _CJK_START.match(rest[0])):
            return rest.strip()
    return None


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[Route] = []
        self.preparers: list[tuple[Callable[[Inbound], bool], Prepare]] = []
        self.afters: list[After] = []
        self._order = 0

    def _add(self, name: str, priority: int, match: Filter, words: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._order += 1
            self.routes.append(Route(f"{self.name}.{name or handler.__name__}", priority, self._order, match,
                                     handler, words))
            return handler

        return register

    def command(self, *words: str, priority: int = Priority.COMMAND, when: Filter | None = None) -> Callable[[Handler], Handler]:
        """A text starting with one of `words`; the rest of the text is `ctx.args`."""

        async def match(ctx: Context) -> bool:
            if ctx.msg.msg_type != "text":
                return False
            rest = split_command(ctx.msg.text, words)
            if rest is None:
                return False
            if when is not None and not await _call(when, ctx):
                return False
            ctx.args = rest
            return True

        return self._add(words[0], priority, match, words)

    def message(self, *msg_types: str, priority: int = Priority.MESSAGE, when: Filter | None = None) -> Callable[[Handler], Handler]:
        async def match(ctx: Context) -> bool:
            if ctx.msg.msg_type not in msg_types:
                return False
            return when is None or await _call(when, ctx)

        return self._add("|".join(msg_types), priority, match)

    def event(self, *events: str, priority: int = Priority.EVENT) -> Callable[[Handler], Handler]:
        wanted = {e.lower() for e in events}
        return self._add("|".join(events), priority, lambda ctx: (ctx.msg.event or "") in wanted)

    def card(self, *key_prefixes: str) -> Callable[[Handler], Handler]:
        """A click on a template card button whose key starts with one of the prefixes."""

        def match(ctx: Context) -> bool:
            return ctx.msg.event in ("template_card_event", "template_card_menu_event") and any(
                ctx.msg.event_key.startswith(p) for p in key_prefixes
            )

        return self._add("card:" + "|".join(key_prefixes), Priority.CARD, match)

    def timer(self, *kinds: str) -> Callable[[Handler], Handler]:
        """A durable timer that came due (see storage.timers)."""
        return self._add(
            "timer:" + "|".join(kinds),
            Priority.EVENT,
            lambda ctx: ctx.msg.msg_type == "timer" and ctx.msg.field("kind") in kinds,
        )

    def internal(self, *names: str) -> Callable[[Handler], Handler]:
        """Work the bot queued for itself (e.g. a user who left, found by the periodic sync)."""
        return self._add(
            "internal:" + "|".join(names),
            Priority.EVENT,
            lambda ctx: ctx.msg.msg_type == "internal" and ctx.msg.field("name") in names,
        )

    def when(self, match: Filter, *, priority: int, name: str) -> Callable[[Handler], Handler]:
        """Any condition, e.g. 'this user has an active dialog'."""
        return self._add(name, priority, match)

    def fallback(self) -> Callable[[Handler], Handler]:
        return self._add("fallback", Priority.FALLBACK, lambda ctx: True)

    def prepare(self, *msg_types: str) -> Callable[[Prepare], Prepare]:
        """Slow outside reads (media download, OCR, contact lookups) done before the transaction."""

        def register(fn: Prepare) -> Prepare:
            self.preparers.append((lambda msg: msg.msg_type in msg_types, fn))
            return fn

        return register

    def prepare_when(self, match: Callable[[Inbound], bool]) -> Callable[[Prepare], Prepare]:
        def register(fn: Prepare) -> Prepare:
            self.preparers.append((match, fn))
            return fn

        return register

    def after(self, hook: After) -> After:
        """Run `hook(ctx, route_name)` after whichever handler took a message (same transaction)."""
        self.afters.append(hook)
        return hook

    def include(self, *routers: Router) -> Router:
        for router in routers:
            for route in router.routes:
                self._order += 1
                self.routes.append(Route(route.name, route.priority, self._order, route.match, route.handler,
                                         route.words))
            self.preparers.extend(router.preparers)
            self.afters.extend(router.afters)
        return self

    # running -----------------------------------------------------------------------------------
    async def run_prepare(self, msg: Inbound, gateway: Any) -> Any:
        for match, fn in self.preparers:
            if match(msg):
                return await fn(msg, gateway)
        return None

    async def dispatch(self, ctx: Context) -> str | None:
        """Run the first matching handler; returns its route name (None when nothing matched)."""
        for route in sorted(self.routes, key=lambda r: (r.priority, r.order)):
            ctx.args = ""
            if await _call(route.match, ctx):
                await route.handler(ctx)
                for hook in self.afters:
                    await hook(ctx, route.name)
                return route.name
        return None

    def command_words(self) -> set[str]:
        return {w for r in self.routes for w in r.words}


async def _call(fn: Filter, ctx: Context) -> bool:
    result = fn(ctx)
    if isinstance(result, Awaitable):
        result = await result
    return bool(result)
