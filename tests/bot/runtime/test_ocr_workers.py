"""The OCR workers: engines loaded once, a time limit per file, and a dead or stuck worker replaced
so the next invoice is read as if nothing happened."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal

import pytest
import pytest_asyncio

from bot.runtime.ocr_workers import OcrWorkers
from chat.context import InvoiceUnreadable
from simulator.invoice_art import render_invoice_png, sample_fields

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def workers() -> OcrWorkers:
    """One pool for the module: each test leaves it as it found it (one live worker)."""
    pool = OcrWorkers("rapidocr", 1, timeout=60)
    await pool.start()
    yield pool  # type: ignore[misc]
    await pool.close()


def invoice(seed: int) -> tuple[dict[str, str], bytes]:
    fields = sample_fields(seed)
    return fields, render_invoice_png(fields)


async def test_reads_invoices_with_the_engine_loaded_once(workers: OcrWorkers) -> None:
    samples = [invoice(s) for s in (501, 502)]
    results = await asyncio.gather(*(workers.read_document(png) for _, png in samples))
    for (fields, _), [inv] in zip(samples, results, strict=True):
        assert inv.invoice_number == fields["invoice_number"]
        assert inv.to_json_dict()["total"] == fields["total"]
    health = workers.health()
    assert (health["status"], health["engine"], health["workers"], health["waiting"]) == ("ok", "rapidocr", 1, 0)
    assert health["read"] >= 2


async def test_a_killed_worker_is_replaced_and_only_its_file_fails(workers: OcrWorkers) -> None:
    fields, png = invoice(503)
    reading = asyncio.create_task(workers.read_document(png))
    await asyncio.sleep(0.2)  # the worker has the file
    for child in multiprocessing.active_children():  # what the OOM killer would do
        os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    with pytest.raises(InvoiceUnreadable) as failed:
        await reading
    assert failed.value.kind == "crashed"
    [again] = await workers.read_document(png)  # a new worker took its place
    assert again.invoice_number == fields["invoice_number"]
    assert workers.health()["crashed"] == 1


async def test_a_read_over_its_time_limit_fails_alone(workers: OcrWorkers) -> None:
    workers.timeout = 0.05
    try:
        with pytest.raises(InvoiceUnreadable) as failed:
            await workers.read_document(invoice(504)[1])
    finally:
        workers.timeout = 60
    assert failed.value.kind == "timeout" and workers.health()["timeout"] == 1
    fields, png = invoice(505)
    [read] = await workers.read_document(png)  # the stuck worker was replaced
    assert read.invoice_number == fields["invoice_number"]


async def test_a_file_that_is_no_invoice_is_refused(workers: OcrWorkers) -> None:
    with pytest.raises(InvoiceUnreadable) as failed:
        await workers.read_document(b"not an image, not a PDF")
    assert failed.value.kind == "unreadable"


async def test_unknown_engine_refused() -> None:
    with pytest.raises(ValueError):
        OcrWorkers("nonsense")
