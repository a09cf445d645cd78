"""Invoice reading in worker processes that cannot stall or stop the bot.

`ocr/` is pure functions over bytes; running them is the bot's business. Each worker loads its
engine once (pebble's initializer), each read has a time limit, and a worker that overruns or dies
(the OOM killer, a crash in a native library) is replaced by a fresh one while the read it was doing
fails alone — so one hostile file never takes invoice reading down for everyone. Reads wait their
turn behind a bound, and the counts feed `/healthz` and `/metrics`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pebble import ProcessExpired, ProcessPool

from bot.ops import metrics
from chat.context import InvoiceUnreadable
from ocr.engines import ENGINES, get_engine
from ocr.models import Invoice
from ocr.reader import read_document

log = logging.getLogger(__name__)

_engine: str | None = None


def _load(engine: str) -> None:
    """In a new worker: load the engine before any file arrives."""
    global _engine
    get_engine(engine)
    _engine = engine


def _loaded() -> bool:
    return _engine is not None


def _read(data: bytes) -> list[dict[str, Any]]:
    return [inv.model_dump(mode="json") for inv in read_document(data, engine=_engine)]


class OcrWorkers:
    """A self-healing pool for `ocr.read_document`, bounded and timed."""

    def __init__(self, engine: str, workers: int = 1, *, timeout: float = 60.0) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown OCR engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.engine = engine
        self.workers = workers
        self.timeout = timeout
        self._pool = ProcessPool(max_workers=workers, initializer=_load, initargs=(engine,),
                                 context=multiprocessing.get_context("spawn"))  # no forked loops or sockets
        self._slots = asyncio.Semaphore(workers * 2)  # reading or next in line; the rest wait here
        self._waiting = 0
        self._started = False  # workers asked to load their engines
        self._ready = False  # ... and they have, or a file was read
        self.counts = {"read": 0, "refused": 0, "timeout": 0, "crashed": 0}

    async def start(self) -> None:
        """Start the workers and load their engines now, so the first invoice does not pay for it."""
        self._started = True
        await asyncio.gather(*(self._run(_loaded) for _ in range(self.workers)))
        self._ready = True
        log.info("OCR workers ready: %d × %s", self.workers, self.engine)

    async def read_document(self, data: bytes) -> list[Invoice]:
        """Every invoice in an upload; `InvoiceUnreadable` when the file cannot be read in time or at all."""
        self._waiting += 1
        metrics.OCR_WAITING.set(self._waiting)
        try:
            async with self._slots:
                dumped = await self._read(data)
        finally:
            self._waiting -= 1
            metrics.OCR_WAITING.set(self._waiting)
        return [Invoice.model_validate(d) for d in dumped]

    async def _read(self, data: bytes) -> list[dict[str, Any]]:
        try:
            dumped: list[dict[str, Any]] = await self._run(_read, data)
        except (FutureTimeout, TimeoutError):
            self._count("timeout")
            raise InvoiceUnreadable("timeout", f"reading took longer than {self.timeout:.0f} s") from None
        except ProcessExpired as exc:
            self._count("crashed")
            log.error("an OCR worker died reading a file (%s); a new one takes its place", exc)
            raise InvoiceUnreadable("crashed", "the reader stopped on this file") from None
        except Exception as exc:  # raised in the worker: not an invoice file, too large, damaged
            self._count("refused")
            raise InvoiceUnreadable("unreadable", f"{type(exc).__name__}: {exc}") from None
        self._count("read")
        self._ready = True
        return dumped

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.wrap_future(self._pool.schedule(fn, args=args, timeout=self.timeout))

    def _count(self, outcome: str) -> None:
        self.counts[outcome] += 1
        metrics.OCR_READS.labels(outcome).inc()

    def health(self) -> dict[str, Any]:
        """For /healthz: whether workers are up, what waits, and how reads ended since start."""
        status = "ok" if self._ready else ("starting" if self._started else "idle")
        return {"status": status, "engine": self.engine, "workers": self.workers,
                "waiting": self._waiting, **self.counts}

    async def close(self) -> None:
        """Stop the workers; reads in flight fail (their inbox items are handled again after restart)."""
        self._pool.stop()
        await asyncio.to_thread(self._pool.join)
