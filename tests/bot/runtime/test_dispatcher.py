"""Per-user order and cross-user concurrency of the inbox dispatcher."""

from __future__ import annotations

import asyncio

from bot.runtime.dispatcher import Dispatcher
from storage.inbox import InboxItem
from tests.world import START_AT


def item(n: int, user: str) -> InboxItem:
    return InboxItem(f"k{n}", "app", user, "text", None, {}, START_AT, id=n)


async def test_one_user_in_order_other_users_in_parallel() -> None:
    seen: list[tuple[str, int]] = []
    release_a = asyncio.Event()

    async def handle(it: InboxItem, prepared: object) -> None:
        if it.id == 1:
            await release_a.wait()  # a slow handler for user a
        seen.append((it.user_id, it.id))

    dispatcher = Dispatcher(handle, concurrency=4)
    for n, user in [(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "a")]:
        dispatcher.dispatch(item(n, user))
    await asyncio.sleep(0.05)
    assert seen == [("b", 3), ("b", 4)]  # b is not held up by a's slow message
    release_a.set()
    await dispatcher.wait_idle()
    assert [n for u, n in seen if u == "a"] == [1, 2, 5]


async def test_a_crashing_handler_does_not_stop_the_queue() -> None:
    done: list[int] = []

    async def handle(it: InboxItem, prepared: object) -> None:
        if it.id == 1:
            raise RuntimeError("boom")
        done.append(it.id)

    dispatcher = Dispatcher(handle)
    dispatcher.dispatch(item(1, "a"))
    dispatcher.dispatch(item(2, "a"))
    await dispatcher.wait_idle()
    assert done == [2]


async def test_slow_reads_wait_outside_the_processing_slots() -> None:
    """With one slot, a user whose photo is still being read does not hold up anyone else."""
    handled: list[str] = []
    photo_read = asyncio.Event()

    async def prepare(it: InboxItem) -> str | None:
        if it.user_id == "photo":
            await photo_read.wait()  # OCR in progress
            return "invoice"
        return None

    async def handle(it: InboxItem, prepared: object) -> None:
        handled.append(f"{it.user_id}:{prepared}")

    dispatcher = Dispatcher(handle, prepare=prepare, concurrency=1)
    dispatcher.dispatch(item(1, "photo"))
    for n, user in enumerate(("approver", "employee"), start=2):
        dispatcher.dispatch(item(n, user))
    await asyncio.sleep(0.05)
    assert handled == ["approver:None", "employee:None"]
    photo_read.set()
    await dispatcher.wait_idle()
    assert handled[-1] == "photo:invoice"


async def test_waiting_for_idle_sees_work_that_arrived_as_the_last_item_finished() -> None:
    done: list[int] = []
    dispatcher: Dispatcher

    async def handle(it: InboxItem, prepared: object) -> None:
        done.append(it.id)
        if it.id == 1:  # what a handler's commit sets off (a timer due at once) arrives just after it
            asyncio.get_running_loop().call_soon(dispatcher.dispatch, item(2, "a"))

    dispatcher = Dispatcher(handle)
    dispatcher.dispatch(item(1, "a"))
    await dispatcher.wait_idle()
    assert done == [1, 2]
