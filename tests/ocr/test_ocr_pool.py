"""The process pool: reads in a worker with the engine loaded once, and rejects unknown engines."""

import asyncio

import pytest

from ocr.pool import OcrPool
from simulator.invoice_art import render_invoice_png, sample_fields


async def test_pool_reads_invoices_concurrently() -> None:
    pool = OcrPool("rapidocr", max_workers=1)
    try:
        samples = [sample_fields(s) for s in (501, 502)]
        results = await asyncio.gather(*(pool.read(render_invoice_png(f)) for f in samples))
    finally:
        await pool.close()
    for fields, inv in zip(samples, results, strict=True):
        assert inv.invoice_number == fields["invoice_number"]
        assert inv.to_json_dict()["total"] == fields["total"]


def test_unknown_engine_rejected() -> None:
    with pytest.raises(ValueError):
        OcrPool("nonsense")
