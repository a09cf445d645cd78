"""Run invoice reading in worker processes so OCR never blocks the bot's event loop.

Each worker loads its engine once in the pool initializer; a semaphore bounds how many reads are
queued or running, so a burst of photos waits its turn instead of piling up in memory.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from ocr.engines import ENGINES, get_engine
from ocr.models import Invoice
from ocr.reader import read_document

_worker_engine: str | None = None


def _init_worker(engine: str) -> None:
    """Load the engine in the new worker process, before any image arrives."""
    global _worker_engine
    get_engine(engine)
    _worker_engine = engine


def _ready() -> bool:
    """A no-op that returns once the worker (and its engine) is up."""
    return _worker_engine is not None


def _read_in_worker(data: bytes) -> list[dict[str, object]]:
    return [inv.model_dump(mode="json") for inv in read_document(data, engine=_worker_engine)]


class OcrPool:
    """A small process pool for ``read_document`` with bounded concurrency."""

    def __init__(self, engine: str, max_workers: int = 1) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown OCR engine {engine!r}; choose one of {', '.join(ENGINES)}")
        self.engine = engine
        self._workers = max_workers
        self._executor = ProcessPoolExecutor(
            max_workers=max_workers,
            mp_context=multiprocessing.get_context("spawn"),  # no forked event loops or sockets
            initializer=_init_worker,
            initargs=(engine,),
        )
        self._slots = asyncio.Semaphore(max_workers * 2)

    async def start(self) -> None:
        """Start every worker and load its engine now, so the first invoice does not pay for it."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, _ready) for _ in range(self._workers)))

    async def read_document(self, data: bytes) -> list[Invoice]:
        """Every invoice in an upload (see ``ocr.read_document``), read in a worker process."""
        async with self._slots:
            loop = asyncio.get_running_loop()
            dumped = await loop.run_in_executor(self._executor, _read_in_worker, data)
        return [Invoice.model_validate(d) for d in dumped]

    async def read(self, data: bytes) -> Invoice:
        """The (first) invoice in an upload, read in a worker process."""
        return (await self.read_document(data))[0]

    async def close(self) -> None:
        """Stop the workers, waiting for reads in flight."""
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)
