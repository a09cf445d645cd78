"""WeCom drops app messages past 30 per minute per member while answering ok: the sender keeps a
strict window per recipient (across restarts) and folds a long queue of cards into one digest."""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp

from tests.handlers.approval_helpers import NUMBER, expense_row
from tests.metrics import buckets, sample
from tests.world import World

SUBMITTERS = ("zhangwei", "lina", "wangfang", "liuyang", "chenjing", "zhaolei", "sunli", "zhoumin")


async def file_small_expenses(world: World, user: str, count: int) -> list[str]:
    """Small taxi expenses go straight to finance review (吴强)."""
    day = world.clock.now().astimezone(world.bot.services.zone).date().isoformat()
    numbers = []
    for i in range(count):
        await world.reply_to(user, f"报销 {30 + i} 交通 {day} 打车", contains="确认")
        text = await world.reply_to(user, "确认", contains="已提交报销")
        numbers.append(NUMBER.search(text).group(0))  # type: ignore[union-attr]
    return numbers


def number_in(title: str) -> str:
    return NUMBER.search(title).group(0)  # type: ignore[union-attr]


def statuses(world: World, key: str) -> dict[str, int]:
    found = world.rows("SELECT status, COUNT(*) AS n FROM outbound WHERE order_key = ? GROUP BY status", (key,))
    return {r["status"]: r["n"] for r in found}


async def metrics_text(world: World) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{world.url}/metrics") as resp:
        return await resp.text()


def folded_total(metrics: str) -> float:
    return sample(metrics, "bot_outbound_folded_total") or 0.0


async def test_a_48_card_burst_reaches_the_reviewer_without_a_drop(world: World) -> None:
    w = world
    folded_before = folded_total(await metrics_text(w))
    for i in range(30):  # the reviewer's window is full: every card of the burst has to wait for it
        await w.say("wuqiang", f"帮助 {i}")
    await w.sim.wait_for(lambda: statuses(w, "user:wuqiang").get("sent", 0) == 30, timeout=10)
    earlier = len(w.sim.messages_to("wuqiang"))
    batches = await asyncio.gather(*(file_small_expenses(w, user, 6) for user in SUBMITTERS))
    numbers = {n for batch in batches for n in batch}
    assert len(numbers) == 48
    for _ in range(5):  # what the window holds back goes out once it has room again
        if "pending" not in statuses(w, "user:wuqiang"):
            break
        w.clock.advance(61)
        w.bot.sender.wake()
        await asyncio.sleep(0.5)
    await w.sim.wait_for(lambda: "pending" not in statuses(w, "user:wuqiang"), timeout=5)
    received = w.sim.messages_to("wuqiang")[earlier:]
    cards = [m for m in received if m.msgtype == "template_card"]
    digests = [m for m in received if m.msgtype == "text"]
    carded = {number_in(m.payload["main_title"]["title"]) for m in cards}
    folded = {number_in(json.loads(r["body"])["template_card"]["main_title"]["title"])
              for r in w.rows("SELECT body FROM outbound WHERE order_key = ? AND status = 'folded'", ("user:wuqiang",))}
    assert carded | folded == numbers and not carded & folded and len(cards) == len(carded)
    assert digests and all("待办" in m.text() for m in digests)
    for m in digests:  # each names how many it stands for, lists what fits in one text, counts the rest
        listed = NUMBER.findall(m.text())
        rest = re.search(r"另有 (\d+) 项", m.text())
        assert set(listed) <= folded
        assert int(re.match(r"(\d+) 笔报销等你审批", m.text()).group(1)) == len(listed) + (int(rest.group(1)) if rest else 0)  # type: ignore[union-attr]
    assert w.sim.dropped == []  # WeCom never had to drop one
    assert statuses(w, "user:wuqiang") == {"sent": earlier + len(received), "folded": len(folded)}

    # a folded approval is still decided by text, and its card is never updated (it was never sent)
    one = sorted(folded)[0]
    await w.say("wuqiang", f"同意 {one}")
    assert expense_row(w, one)["status"] == "approved"
    metrics = await metrics_text(w)
    assert folded_total(metrics) - folded_before == len(folded)


async def test_the_window_holds_across_a_restart(world: World) -> None:
    w = world
    for i in range(30):
        await w.say("sunli", f"帮助 {i}")
    await w.sim.wait_for(lambda: statuses(w, "user:sunli").get("sent", 0) == 30, timeout=10)
    await w.restart_bot()
    await w.say("sunli", "帮助 again")
    await asyncio.sleep(0.5)
    assert statuses(w, "user:sunli") == {"sent": 30, "pending": 1}  # the restarted sender still counts them
    await asyncio.sleep(1.1)  # the backlog snapshot is taken at most once a second
    w.bot.sender.wake()
    await asyncio.sleep(0.2)
    metrics = await metrics_text(w)
    waiting = buckets(metrics, "bot_outbound_recipient_waiting_bucket")
    assert waiting["0"] == 0 and waiting["1"] == 1 and "sunli" not in metrics  # one recipient, one row
    w.clock.advance(61)
    w.bot.sender.wake()
    await w.sim.wait_for(lambda: statuses(w, "user:sunli") == {"sent": 31}, timeout=5)
    assert w.sim.dropped == []
