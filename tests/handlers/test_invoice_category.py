"""An invoice's item names choose the category (shown, editable) instead of asking for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.rules import ExpenseRules
from simulator.invoice_art import printed_items, render_invoice_png, sample_fields
from tests.handlers.approval_helpers import db_rows
from tests.world import World, message_text

CORPUS = Path(__file__).parent / "corpus" / "invoice_items.tsv"


def corpus() -> list[tuple[list[str], str | None]]:
    cases = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        items, expected = line.split("\t")
        cases.append(([i.strip() for i in items.split("|") if i.strip()], None if expected == "-" else expected))
    return cases


@pytest.mark.parametrize(("items", "expected"), corpus(), ids=lambda v: "|".join(v) if isinstance(v, list) else v)
def test_item_names_point_to_a_category(items: list[str], expected: str | None) -> None:
    assert ExpenseRules().category_of_items(items) == expected


def test_the_corpus_covers_every_category_with_items_and_the_undecided() -> None:
    cases = corpus()
    assert len(cases) >= 50
    found = {expected for _, expected in cases}
    assert {c.name for c in ExpenseRules().categories if c.invoice_items} | {None} <= found


def test_a_rules_file_maps_its_own_items() -> None:
    rules = ExpenseRules.model_validate({"categories": [
        {"name": "会务", "invoice_items": ["*现代服务*会议"]}, {"name": "餐饮", "invoice_items": ["*餐饮服务*"]}]})
    assert rules.category_of_items(["*现代服务*会议费"]) == "会务"
    assert rules.category_of_items(["*运输服务*客运服务费"]) is None


def seed_printing(prefix: str) -> dict:
    return next(f for f in map(sample_fields, range(200)) if printed_items(f)[0].startswith(prefix))


async def send_invoice(world: World, fields: dict) -> str:
    after = len(world.sim.messages)
    await world.sim.send_image("liuyang", render_invoice_png(fields))
    return message_text(await world.sim.wait_for_message(to="liuyang", contains="已识别发票", after=after,
                                                         timeout=120))


async def test_a_meal_invoice_files_as_meals_without_asking(world: World) -> None:
    fields = seed_printing("*餐饮服务*")
    shown = await send_invoice(world, fields)
    assert "类别：餐饮（按发票品目" in shown
    while "请确认报销" not in shown:  # fields read unsure are asked; the category never is
        assert "什么类别" not in shown
        shown = await world.reply_to("liuyang", "对")
    assert "餐饮" in shown
    await world.reply_to("liuyang", "修改 类别 招待", contains="招待")  # shown, and editable
    await world.reply_to("liuyang", "确认", contains="已提交报销")
    assert db_rows(world, "SELECT category FROM expenses") == [("招待",)]


async def test_a_category_the_person_said_stays(world: World) -> None:
    fields = seed_printing("*餐饮服务*")
    assert "金额" in await world.reply_to("liuyang", "报销 招待")
    shown = await send_invoice(world, fields)
    assert "按发票品目" not in shown and "招待" in shown


async def test_an_invoice_of_no_known_kind_still_asks(world: World) -> None:
    fields = seed_printing("*信息技术服务*")
    shown = await send_invoice(world, fields)
    assert "按发票品目" not in shown
