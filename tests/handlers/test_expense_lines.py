"""One upload with several invoices: filed as lines of one expense, or one of them picked, and every
invoice claimed once whichever line it was on."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from pypdf import PdfReader, PdfWriter

from simulator.invoice_art import render_invoice_pdf, sample_fields
from tests.bot.h5.h5_support import browser, login, rows, upload
from tests.handlers.approval_helpers import db_rows
from tests.world import World, message_text

pytestmark = pytest.mark.backends("sqlite", "postgres")  # new repository SQL on both


def two_page_pdf(*fields: dict[str, str]) -> bytes:
    writer = PdfWriter()
    for f in fields:
        for page in PdfReader(io.BytesIO(render_invoice_pdf(f))).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def money(fields: dict[str, str]) -> Decimal:
    return Decimal(fields["total"])


async def send_upload(world: World, data: bytes, *, contains: str) -> str:
    async with browser() as session:
        csrf = await login(session, world, "liuyang")
        after = len(world.sim.messages)
        status, _ = await upload(session, world, csrf, data)
        assert status == 200
        return message_text(await world.sim.wait_for_message(to="liuyang", contains=contains, after=after, timeout=30))


async def test_several_invoices_become_lines_of_one_expense(world: World) -> None:
    first, second = sample_fields(31), sample_fields(32)
    asked = await send_upload(world, two_page_pdf(first, second), contains="文件里有 2 张发票")
    assert first["seller_name"] in asked and second["seller_name"] in asked and "全部" in asked

    summary = await world.reply_to("liuyang", "全部")
    while "确认" not in summary:  # the category (and anything read unsure) is asked first
        summary = await world.reply_to("liuyang", "办公" if "类别" in summary else "对")
    both = money(first) + money(second)
    assert f"¥{both:,.2f}" in summary and "发票（2 张，每张一行）" in summary
    done = await world.reply_to("liuyang", "确认", contains="已提交报销")
    number = re.search(r"BX\d{8}-\d{4}", done).group(0)  # type: ignore[union-attr]

    [(amount_fen, lines)] = rows(world, "SELECT amount_fen, invoice_lines FROM expenses")
    assert amount_fen == int(both * 100) and first["invoice_number"] in lines and second["invoice_number"] in lines
    # the second invoice was a line, not the expense's own invoice: it is claimed all the same
    refused = await send_upload(world, render_invoice_pdf(second), contains="不能重复报销")
    assert number in refused
    assert len(rows(world, "SELECT * FROM expenses")) == 1


async def test_or_one_of_them_is_picked(world: World) -> None:
    first, second = sample_fields(33), sample_fields(34)
    await send_upload(world, two_page_pdf(first, second), contains="文件里有 2 张发票")
    picked = await world.reply_to("liuyang", "第二张")
    assert second["invoice_number"] in picked or "类别" in picked
    assert db_rows(world, "SELECT data FROM dialogs WHERE data LIKE ?", (f"%{second['invoice_number']}%",))
    assert not db_rows(world, "SELECT data FROM dialogs WHERE data LIKE ?", (f"%{first['invoice_number']}%",))
