"""Webhooks to the finance platform: signed, ordered per expense, retried through outages, kept across restarts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.finance.webhooks import FIRST_RETRY, sign
from bot.runtime.retry import backoff
from tests.bot.finance.finance_support import (
    SECRET,
    TOKEN,
    Receiver,
    api,
    approve,
    approved_expense,
    file_expense,
    outbox,
)
from tests.world import World

pytestmark = pytest.mark.backends("sqlite", "postgres")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


def test_signature_and_backoff_rules() -> None:
    body = b'{"id":"x"}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k", "1700000000", body) == expected
    assert sign("k", "1700000001", body) != expected
    delays = [backoff(n, first=FIRST_RETRY) for n in range(30) for _ in range(5)]
    assert max(delays) <= 60 and min(delays) > 0
    assert backoff(0, first=FIRST_RETRY) <= 0.1 and backoff(12, first=FIRST_RETRY) >= 30  # grows, jittered within [base/2, base]


async def test_outage_then_recovery_delivers_everything_in_order(bare_world: World, receiver: Receiver) -> None:
    world = bare_world
    receiver.mode = "down"
    await world.start_bot(finance_api_token=TOKEN, finance_webhook_url=receiver.url,
                          finance_webhook_secret=SECRET)
    first = await approved_expense(world)
    second = await file_expense(world, "liuyang", "66.00", "餐饮")
    await api(world, "POST", f"/api/v1/expenses/{first}/payment", {"reference": "PAY-7"})
    await world.sim.wait_for(lambda: len(receiver.attempts) >= 2, timeout=5)
    assert receiver.received == []
    rows = outbox(world)
    assert all(status == "pending" for *_, status in rows)
    types_first = [t for _, t, n, _ in rows if n == first]
    assert types_first[0] == "expense.submitted" and types_first[-2:] == ["expense.approved", "expense.paid"]
    assert "expense.step_decided" in types_first

    # a retry a minute later is signed afresh (waited for while still down: an attempt already in
    # flight when the receiver comes back would otherwise carry the first timestamp)
    first_id, first_stamp = receiver.stamps[0]
    world.clock.advance(timedelta(seconds=61))
    world.bot.extras["webhooks"].wake()
    await world.sim.wait_for(lambda: any(i == first_id and ts >= first_stamp + 60 for i, ts in receiver.stamps),
                             timeout=5)
    receiver.mode = "ok"
    world.clock.advance(timedelta(seconds=61))  # every backoff has run out
    world.bot.extras["webhooks"].wake()
    got = await receiver.wait_for(len(rows))
    assert receiver.bad_signatures == 0
    ids = [e["id"] for e in got]
    assert len(ids) == len(set(ids)) == len(rows)
    assert {e["id"] for e in got} == {r[0] for r in rows}
    assert set(receiver.attempts) == set(ids)  # retries reused the ids they started with
    for number in (first, second):
        assert [e["type"] for e in got if e["data"]["number"] == number] == [t for _, t, n, _ in rows if n == number]
    paid = got[[e["type"] for e in got].index("expense.paid")]
    data = paid["data"]
    assert (data["number"], data["status"], data["amount"], data["currency"], data["submitter"]) == (
        first, "paid", "1000.00", "CNY", "liuyang")
    assert {"route", "timeline", "invoice", "expense_date", "department_id", "created_at", "updated_at",
            "category", "description"} <= set(data)
    assert abs(paid["timestamp"] - world.clock.now().timestamp()) < 120
    assert first_id == rows[0][0]
    tried = [ts for i, ts in receiver.stamps if i == first_id]
    assert tried[-1] - tried[0] >= 60  # timestamp (and signature) made afresh for each attempt
    await world.sim.wait_for(lambda: all(s == "delivered" for *_, s in outbox(world)), timeout=5)

    # the API lists the outbox with the same ids
    status, listed = await api(world, "GET", f"/api/v1/events?number={first}")
    assert status == 200 and [e["id"] for e in listed["items"]] == [r[0] for r in rows if r[2] == first]
    assert all(e["status"] == "delivered" for e in listed["items"])
    assert listed["items"][0]["attempts"] >= 2  # later events of the expense waited behind the first


async def test_events_wait_without_url_and_survive_restart(bare_world: World, receiver: Receiver) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    number = await file_expense(world, "liuyang", "1000", "交通")
    await approve(world, "wangfang", number)
    status, listed = await api(world, "GET", "/api/v1/events?status=pending")
    assert status == 200
    kept = [(e["id"], e["type"]) for e in listed["items"]]
    assert [t for _, t in kept] == ["expense.submitted", "expense.step_decided"]
    status, page = await api(world, "GET", "/api/v1/events?limit=1")
    assert len(page["items"]) == 1 and page["next_after"] is not None
    status, rest = await api(world, "GET", f"/api/v1/events?after={page['next_after']}")
    assert [e["id"] for e in page["items"] + rest["items"]] == [i for i, _ in kept]

    await world.restart_bot(finance_api_token=TOKEN, finance_webhook_url=receiver.url, finance_webhook_secret=SECRET)
    got = await receiver.wait_for(2)
    assert [(e["id"], e["type"]) for e in got] == kept
    await approve(world, "wuqiang", number)
    got = await receiver.wait_for(4)
    assert [e["type"] for e in got[2:]] == ["expense.step_decided", "expense.approved"]
    await asyncio.sleep(0.2)
    assert len(receiver.attempts) == len({*receiver.attempts}) == 4


async def parked_expense(world: World, receiver: Receiver) -> tuple[str, str]:
    """An expense whose first event the finance platform refuses; its number and the admins' alert."""
    receiver.mode = "refuse"
    await world.start_bot(finance_api_token=TOKEN, finance_webhook_url=receiver.url, finance_webhook_secret=SECRET)
    after = len(world.sim.messages)
    number = await file_expense(world, "liuyang", "1000", "交通")
    told = await world.sim.wait_for_message(to="xuhui", contains="财务平台拒收", after=after)
    return number, told.text()


async def test_refused_event_is_parked_shown_to_admins_and_retried(bare_world: World, receiver: Receiver) -> None:
    world = bare_world
    number, told = await parked_expense(world, receiver)
    assert number in told and "HTTP 400" in told
    status, failed = await api(world, "GET", "/api/v1/events?status=failed")
    assert [e["number"] for e in failed["items"]] == [number] and failed["items"][0]["last_error"] == "HTTP 400"
    event_id = failed["items"][0]["id"]
    assert receiver.attempts == [event_id]  # a refusal is not retried by itself

    receiver.mode = "ok"
    status, again = await api(world, "POST", f"/api/v1/events/{event_id}/retry")
    assert status == 200 and again["status"] == "pending"
    got = await receiver.wait_for(1)
    assert got[0]["id"] == event_id and got[0]["type"] == "expense.submitted"
    await world.sim.wait_for(lambda: outbox(world)[0][3] == "delivered", timeout=5)
    status, _ = await api(world, "POST", f"/api/v1/events/{event_id}/retry")
    assert status == 409
    actions = {r["action"] for r in world.rows("SELECT action FROM audit_log")}
    assert {"webhook.parked", "webhook.requeued"} <= actions


async def test_a_parked_event_holds_the_later_events_of_its_expense(bare_world: World, receiver: Receiver) -> None:
    world = bare_world
    held, told = await parked_expense(world, receiver)
    assert "暂停" in told and "discard" in told
    receiver.mode = "ok"
    await approve(world, "wangfang", held)
    await approve(world, "wuqiang", held)  # step_decided, step_decided, approved wait behind the parked one
    other = await file_expense(world, "sunli", "88", "餐饮")  # another expense is not held
    await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert [e["data"]["number"] for e in receiver.received] == [other]
    assert [s for *_, n, s in outbox(world) if n == held] == ["failed", "pending", "pending", "pending"]

    # the admins are told again every day while the event stays parked
    after = len(world.sim.messages)
    world.clock.advance(timedelta(days=1, minutes=1))
    await world.bot.scheduler.tick()
    again = await world.sim.wait_for_message(to="xuhui", contains="仍未处理", after=after)
    assert held in again.text() and "现有 3 条" in again.text()

    parked = outbox(world)[0][0]
    status, body = await api(world, "POST", f"/api/v1/events/{parked}/discard")
    assert status == 200 and body["status"] == "discarded"
    released: list[str] = []
    for _ in range(200):  # the held events follow (hourly audit anchors may arrive in between)
        released = [e["type"] for e in receiver.received if e["type"].startswith("expense.")
                    and e["data"]["number"] == held]
        if len(released) >= 3:
            break
        await asyncio.sleep(0.05)
    assert released == ["expense.step_decided", "expense.step_decided", "expense.approved"]
    assert parked not in [e["id"] for e in receiver.received]
    status, _ = await api(world, "POST", f"/api/v1/events/{parked}/discard")
    assert status == 409
    after = len(world.sim.messages)
    world.clock.advance(timedelta(days=1, minutes=1))  # given up: no more reminders
    await world.bot.scheduler.tick()
    await world.idle()
    assert world.sim.find_messages(to="xuhui", contains="仍未处理", after=after) == []
    actions = {r["action"] for r in world.rows("SELECT action FROM audit_log")}
    assert "webhook.discarded" in actions
