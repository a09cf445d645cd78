"""Invoices in the expense chat: a photo read by the real OCR, and the mapping of unsure fields."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal

import aiohttp

from handlers.expense_invoice import invoice_key, invoice_slots
from ocr.models import Invoice
from simulator.invoice_art import render_invoice_png, sample_fields
from tests.world import World, message_text


async def test_photo_completes_an_open_expense(world: World) -> None:
    fields = sample_fields(5)
    png = render_invoice_png(fields)
    assert "金额" in await world.reply_to("liuyang", "报销 差旅")
    after = len(world.sim.messages)
    await world.sim.send_image("liuyang", png)
    msg = await world.sim.wait_for_message(to="liuyang", contains="已识别发票", after=after, timeout=120)
    shown = message_text(msg)
    total = f"{Decimal(fields['total']):,.2f}"
    for part in (fields["seller_name"], fields["invoice_number"], fields["issue_date"], total, "请确认报销", "差旅"):
        assert part in shown
    done = await world.reply_to("liuyang", "确认", contains="已提交报销")
    assert total in done
    row = world.rows("SELECT amount_fen, expense_date, category, description, invoice_key, file_sha256"
                     " FROM expenses")
    assert [tuple(r.values()) for r in row] == [(int(Decimal(fields["total"]) * 100), fields["issue_date"], "差旅", fields["seller_name"],
                   invoice_key(fields["invoice_code"], fields["invoice_number"]), hashlib.sha256(png).hexdigest())]


def test_unsure_invoice_fields_are_marked_for_asking() -> None:
    invoice = Invoice(invoice_code="3100231130", invoice_number="12345678", issue_date=date(2026, 11, 2),
                      seller_name="上海某某餐饮有限公司", amount=Decimal("100.00"), tax=Decimal("6.00"),
                      total=Decimal("106.00"),
                      confidence={"invoice_number": 0.99, "issue_date": 0.4, "amount": 0.9, "total": 0.95,
                                  "seller_tax_id": 0.2})
    data: dict = {"category": "餐饮"}
    invoice_slots(invoice, data)
    assert (data["amount"], data["date"], data["invoice_number"], data["seller"]) == (
        "106.00", "2026-11-02", "12345678", "上海某某餐饮有限公司")
    assert data["description"] == "上海某某餐饮有限公司" and data["category"] == "餐饮"
    assert data["_unsure"] == ["date"]  # seller_tax_id is only marked in the summary
    assert set(data["invoice_unsure"]) == {"issue_date", "seller_tax_id"}


def test_missing_number_is_asked_and_keys_follow_the_invoice_kind() -> None:
    data: dict = {}
    invoice_slots(Invoice(total=Decimal("58.50"), confidence={"total": 0.9}), data)
    assert "invoice_number" in data["_unsure"] and "invoice_number" not in data
    assert invoice_key("3100231130", "12345678") == "310023113012345678"
    assert invoice_key(None, "24312000000123456789") == "24312000000123456789"
    assert invoice_key(None, "12345678") is None


async def test_a_file_the_reader_gives_up_on_gets_a_clear_answer(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(ocr_timeout_seconds=0.01)  # every read overruns
    after = len(world.sim.messages)
    await world.sim.send_image("liuyang", render_invoice_png(sample_fields(6)))
    msg = await world.sim.wait_for_message(to="liuyang", contains="读得太久", after=after, timeout=60)
    assert "直接输入金额" in message_text(msg)
    async with aiohttp.ClientSession() as http, http.get(f"{world.url}/healthz") as resp:
        ocr = (await resp.json())["ocr"]
    assert ocr["timeout"] == 1 and ocr["read"] == 0
    async with aiohttp.ClientSession() as http, http.get(f"{world.url}/metrics") as resp:
        metrics = await resp.text()
    # every sample also carries this instance's labels (instance, role)
    timeouts = re.search(r'^bot_ocr_reads_total\{[^}]*outcome="timeout"[^}]*\} (\S+)$', metrics, re.MULTILINE)
    assert timeouts and float(timeouts.group(1)) >= 1
    assert re.search(r"^bot_ocr_waiting\{[^}]*\} 0\.0$", metrics, re.MULTILINE)
    assert world.value("SELECT COUNT(*) FROM expenses") == 0
