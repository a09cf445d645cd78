"""Domain events between capabilities (e.g. `expense.submitted` starts an approval).

Subscribers run inside the publisher's transaction, so an event and its consequences commit or
roll back together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chat.context import Context

Subscriber = Callable[["Context", dict[str, Any]], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = defaultdict(list)

    def on(self, *names: str) -> Callable[[Subscriber], Subscriber]:
        def register(fn: Subscriber) -> Subscriber:
            for name in names:
                self._subscribers[name].append(fn)
            return fn

        return register

    def include(self, other: EventBus) -> EventBus:
        for name, subs in other._subscribers.items():
            self._subscribers[name].extend(subs)
        return self

    async def publish(self, ctx: Context, name: str, payload: dict[str, Any]) -> None:
        for fn in self._subscribers.get(name, []):
            await fn(ctx, payload)
        for fn in self._subscribers.get("*", []):
            await fn(ctx, {"event": name, **payload})
