from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.world import World, make_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Simulator plus a running bot over a fresh SQLite file."""
    w = await make_world(tmp_path)
    await w.start_bot()
    try:
        yield w
    finally:
        await w.stop_bot()
        await w.sim.stop()


@pytest.fixture
async def bare_world(tmp_path: Path) -> AsyncIterator[World]:
    """Simulator only; the test starts the bot itself (e.g. with other settings)."""
    w = await make_world(tmp_path)
    try:
        yield w
    finally:
        await w.stop_bot()
        await w.sim.stop()
