"""Payables: daily reminders as the due date nears, until acknowledged or paid; quiet hours; restarts."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.bot.finance.finance_support import TOKEN, api
from tests.world import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def reminders(world: World, title: str) -> list[str]:
    """task_ids of the reminder cards `title` produced, oldest first."""
    return [m.payload["task_id"] for m in world.sim.find_messages(to="zhoumin", msgtype="template_card",
                                                                  contains=title)]


async def fire(world: World, when: datetime) -> None:
    world.clock.set(when)
    await world.bot.scheduler.tick()
    await world.idle()
    world.bot.sender.wake()
    await asyncio.sleep(0.2)


async def test_payable_reminders_until_acknowledged_or_paid(bare_world: World) -> None:
    world = bare_world
    day = world.clock.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    settings = {"finance_api_token": TOKEN, "bot_quiet_hours": "22:00-08:00"}
    world.clock.set(at(day, 10))
    await world.start_bot(**settings)

    rent = {"title": "办公室房租", "amount": "50000.00", "due_date": (day + timedelta(days=2)).isoformat(),
            "owner": "zhoumin", "note": "12 月房租"}
    status, created = await api(world, "PUT", "/api/v1/payables/rent-12", rent)
    assert status == 201 and created["status"] == "open" and created["amount"] == "50000.00"
    far = {**rent, "title": "年度审计费", "due_date": (day + timedelta(days=20)).isoformat()}
    assert (await api(world, "PUT", "/api/v1/payables/audit", far))[0] == 201
    fee = {**rent, "title": "银行手续费", "due_date": (day + timedelta(days=1)).isoformat()}
    assert (await api(world, "PUT", "/api/v1/payables/fee", fee))[0] == 201
    for body, field in (({**rent, "due_date": "soon"}, "due_date"), ({**rent, "amount": "1.234"}, "amount"),
                        ({**rent, "status": "lost"}, "status")):
        status, answer = await api(world, "PUT", "/api/v1/payables/rent-12", body)
        assert status == 422 and answer["detail"][0]["field"] == field

    await fire(world, at(day, 10, 1))  # within 3 days of its due date: the first reminder now
    await world.sim.wait_for(lambda: reminders(world, "办公室房租") and reminders(world, "银行手续费"))
    assert reminders(world, "年度审计费") == []
    card = world.sim.find_messages(to="zhoumin", contains="办公室房租")[0].payload
    assert card["button_list"][0] == {"text": "已知晓", "style": 1, "key": "payable_ack:rent-12"}
    await fire(world, at(day, 18))  # once a day, not on every tick
    assert len(reminders(world, "办公室房租")) == 1

    status, paid = await api(world, "PUT", "/api/v1/payables/fee", {**fee, "status": "paid"})
    assert status == 200 and paid["status"] == "paid"

    await world.restart_bot(**settings)  # the next reminder is a durable timer
    await fire(world, at(day + timedelta(days=1), 9, 1))
    await world.sim.wait_for(lambda: len(reminders(world, "办公室房租")) == 2)
    assert len(reminders(world, "银行手续费")) == 1

    latest = reminders(world, "办公室房租")[-1]
    await world.sim.click_card("zhoumin", latest, "payable_ack:rent-12")
    await world.idle()
    await world.sim.wait_for(lambda: world.sim.cards[latest].view("zhoumin").replace_name == "已知晓")
    status, acked = await api(world, "GET", "/api/v1/payables/rent-12")
    assert acked["status"] == "acknowledged" and acked["reminders"] == 2
    await fire(world, at(day + timedelta(days=2), 9, 1))
    await fire(world, at(day + timedelta(days=3), 9, 1))
    assert len(reminders(world, "办公室房租")) == 2

    # inside quiet hours the reminder waits for the morning; nothing is dropped
    late = {**rent, "title": "物业费", "due_date": (day + timedelta(days=4)).isoformat()}
    world.clock.set(at(day + timedelta(days=3), 23))
    assert (await api(world, "PUT", "/api/v1/payables/late", late))[0] == 201
    await fire(world, at(day + timedelta(days=3), 23, 1))
    assert reminders(world, "物业费") == []
    await fire(world, at(day + timedelta(days=4), 8, 0, ) + timedelta(seconds=5))
    await world.sim.wait_for(lambda: len(reminders(world, "物业费")) == 1)

    actions = [r["action"] for r in world.rows("SELECT action FROM audit_log WHERE subject LIKE 'payable:%'")]
    assert actions.count("payable.created") == 4 and "payable.acknowledged" in actions
