"""The outbound sender under WeCom faults: card codes survive failed updates, one retry loop with
WeCom's duplicate check, and per-recipient order while a row waits in backoff."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from tests.handlers.approval_helpers import file_expense, wait_card
from tests.world import World


def outbound(world: World, where: str = "1 = 1") -> list[tuple[int, str, str, int]]:
    found = world.rows(f"SELECT id, channel, status, attempts FROM outbound WHERE {where} ORDER BY id")
    return [(r["id"], r["channel"], r["status"], r["attempts"]) for r in found]


async def drive_retries(world: World, done: Callable[[], object], rounds: int = 20) -> None:
    """Move the clock past each backoff (or rate-limit window) until `done()` holds."""
    for _ in range(rounds):
        if done():
            return
        world.clock.advance(61)
        world.bot.sender.wake()
        try:
            await world.sim.wait_for(done, timeout=0.5)
        except TimeoutError:
            continue
        return
    raise AssertionError("retries did not settle")


async def test_a_card_update_survives_rate_limits_and_busy_errors(world: World) -> None:
    w = world
    number = await file_expense(w, "liuyang", "1200", "办公")
    card = await wait_card(w, "wangfang", number, step=0)
    w.sim.fail_next("message/update_template_card", 1, errcode=45009)
    w.sim.fail_next("message/update_template_card", 2, errcode=-1)
    await w.say("wangfang", f"同意 {number}")
    await drive_retries(w, lambda: w.sim.cards[card.task_id].view("wangfang").replace_name)
    await w.sim.wait_for_message(to="wangfang", contains="已同意")  # the reply follows the card, in order
    assert w.sim.cards[card.task_id].view("wangfang").replace_name == "已同意"
    assert outbound(w, "channel = 'card_update'") == [(outbound(w, "channel = 'card_update'")[0][0],
                                                       "card_update", "sent", 4)]


async def test_a_send_that_timed_out_after_wecom_took_it_is_not_delivered_twice(world: World) -> None:
    w = world
    w.bot.client.timeout = aiohttp.ClientTimeout(total=0.3)
    w.sim.fail_next("message/send", 1, delay=0.6, late=True)  # WeCom took it, but answers after the bot gave up
    before = w.sim.calls["message/send"]
    await w.say("sunli", "帮助")
    await drive_retries(w, lambda: "pending" not in w.outbound_statuses())
    assert w.outbound_statuses() == ["sent"]
    assert len(w.sim.messages_to("sunli")) == 1
    assert [reason for _, user, reason in w.sim.dropped if user == "sunli"] == ["duplicate"]
    assert w.sim.calls["message/send"] - before == 2  # one retry loop: the outbox's


async def test_a_row_waiting_in_backoff_holds_later_rows_to_the_same_person(world: World) -> None:
    w = world
    w.sim.fail_next("message/send", 4, errcode=-1)
    await w.say("sunli", "帮助")
    await w.sim.wait_for(lambda: outbound(w)[0][3] >= 1, timeout=10)  # the first reply waits in backoff
    await w.say("sunli", "help")
    await drive_retries(w, lambda: len(w.sim.messages_to("sunli")) == 2)
    first, second = (m.text() for m in w.sim.messages_to("sunli"))
    assert "报销" in first and "expense" in second.lower() and "报销" not in second
