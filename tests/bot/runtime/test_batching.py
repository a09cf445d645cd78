"""Group commit: callers that arrive while a commit runs share the next one; with several writers
(PostgreSQL) the next batch starts before the running one has finished, and each caller still gets
its own result."""

from __future__ import annotations

import asyncio
import time

from bot.runtime.batching import GroupCommit


class Store:
    """A commit that takes until released, recording the batches and how many ran at once."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.running = 0
        self.most = 0
        self.release = asyncio.Event()

    async def commit(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        self.running += 1
        self.most = max(self.most, self.running)
        await self.release.wait()
        self.running -= 1
        return [i * 10 for i in items]


async def _run(parallel: int) -> tuple[Store, list[int]]:
    store = Store()
    group: GroupCommit[int, int] = GroupCommit(store.commit, parallel=parallel)
    group.start()
    try:
        first = asyncio.ensure_future(group.submit(1))
        await asyncio.sleep(0.01)  # the first batch is committing
        later = [asyncio.ensure_future(group.submit(i)) for i in (2, 3, 4)]
        await asyncio.sleep(0.01)
        store.release.set()
        return store, await asyncio.gather(first, *later)
    finally:
        await group.stop()


async def test_one_writer_batches_what_arrives_during_a_commit() -> None:
    store, results = await _run(parallel=1)
    assert store.batches == [[1], [2, 3, 4]] and store.most == 1 and results == [10, 20, 30, 40]


async def test_several_writers_start_the_next_batch_at_once() -> None:
    store, results = await _run(parallel=2)
    assert store.batches == [[1], [2, 3, 4]] and store.most == 2 and results == [10, 20, 30, 40]


async def test_a_caller_that_goes_away_does_not_take_its_item_out_of_the_batch() -> None:
    store = Store()
    group: GroupCommit[int, int] = GroupCommit(store.commit)
    group.start()
    try:
        first = asyncio.ensure_future(group.submit(1))
        await asyncio.sleep(0.01)  # the first batch is committing
        gone = asyncio.ensure_future(group.submit(2))
        stays = asyncio.ensure_future(group.submit(3))
        await asyncio.sleep(0.01)
        gone.cancel()  # e.g. the client hung up while its callback waited for the next commit
        store.release.set()
        assert await asyncio.gather(first, stays) == [10, 30]
        assert store.batches == [[1], [2, 3]]
        assert gone.cancelled()
    finally:
        await group.stop()


async def test_a_burst_read_over_several_passes_of_the_loop_goes_as_one_batch() -> None:
    """Requests of one burst reach `submit` a pass or two apart (each is read, decrypted, parsed):
    they share a commit instead of a small one and a big one in turn."""
    store = Store()
    store.release.set()
    group: GroupCommit[int, int] = GroupCommit(store.commit)
    group.start()

    async def caller(item: int) -> int:
        for _ in range(item):  # the n-th request of the burst is ready n passes later
            await asyncio.sleep(0)
        return await group.submit(item)

    try:
        assert await asyncio.gather(*(caller(i) for i in range(6))) == [0, 10, 20, 30, 40, 50]
        assert store.batches == [[0, 1, 2, 3, 4, 5]]
        assert await asyncio.gather(caller(0)) == [0] and store.batches[-1] == [0]  # alone: not held back
    finally:
        await group.stop()


async def test_a_steady_stream_over_slow_passes_of_the_loop_does_not_hold_a_batch_back() -> None:
    """In one process with the handlers, a pass of the loop can take milliseconds and bring a new
    callback each time: the batch still goes after `max_gather`, not when it is full."""
    store = Store()
    store.release.set()
    group: GroupCommit[int, int] = GroupCommit(store.commit, max_gather=0.005)
    group.start()
    stop = asyncio.Event()

    async def busy_handler() -> None:
        while not stop.is_set():
            time.sleep(0.002)  # other work holding the loop for a whole pass
            await asyncio.sleep(0)

    async def stream() -> list[asyncio.Future[int]]:
        results = []
        for item in range(200):
            results.append(group.submit(item))
            await asyncio.sleep(0)
        return results

    busy = asyncio.create_task(busy_handler())
    try:
        results = await stream()
        await asyncio.sleep(0.05)
        assert store.batches and len(store.batches[0]) <= 10, [len(b) for b in store.batches]
        assert await asyncio.gather(*results) == [i * 10 for i in range(200)]
    finally:
        stop.set()
        await busy
        await group.stop()
