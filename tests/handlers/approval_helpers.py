"""Shared steps for approval tests: file an expense through chat, find and click approval cards."""

from __future__ import annotations

import re
from typing import Any

from simulator.models import Card
from tests.world import World

NUMBER = re.compile(r"BX\d{8}-\d{4}")


async def file_expense(world: World, user: str, amount: str, category: str, desc: str = "测试") -> str:
    """File through chat as an employee does: the one-line form, then 确认; returns the BX number."""
    day = world.clock.now().astimezone(world.bot.services.zone).date().isoformat()
    await world.reply_to(user, f"报销 {amount} {category} {day} {desc}")
    text = await world.reply_to(user, "确认", contains="已提交报销")
    match = NUMBER.search(text)
    assert match is not None, text
    await world.idle()
    return match.group(0)


def cards_for(world: World, user: str, number: str) -> list[Card]:
    return [c for c in world.sim.cards.values() if user in c.recipients and number in c.task_id]


async def wait_card(world: World, user: str, number: str, step: int | None = None) -> Card:
    """The newest approval card `user` got for `number` (optionally for one step)."""
    def found() -> Card | None:
        cards = [c for c in cards_for(world, user, number) if step is None or f"-s{step}-" in c.task_id]
        return cards[-1] if cards else None
    card: Card = await world.sim.wait_for(found)
    return card


async def click(world: World, user: str, card: Card, verdict: str, number: str) -> None:
    await world.sim.click_card(user, card.task_id, f"{verdict}:{number}")
    await world.idle()


def db_rows(world: World, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in world.rows(sql, params)]


def expense_row(world: World, number: str) -> dict[str, Any]:
    return world.rows("SELECT * FROM expenses WHERE number = ?", (number,))[0]
