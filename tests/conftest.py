from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import uvloop

from storage.connect import open_database
from storage.db import Database
from tests.postgres import Server, postgres_server
from tests.world import World, make_world


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): run the module's tests on each backend (sqlite, postgres)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests take the `backend` fixture; a module marked `backends("sqlite", "postgres")` runs on both.
    The others run on SQLite, or on what `BOT_TEST_BACKEND` names (to try the whole suite on PostgreSQL)."""
    if "backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        default = (os.environ.get("BOT_TEST_BACKEND", "sqlite"),)
        metafunc.parametrize("backend", marker.args if marker else default, indirect=True)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Tests run on the event loop the bot runs on (`BOT_EVENT_LOOP`, uvloop by default)."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """One PostgreSQL server per test session (see tests/postgres.py)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def db_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """What BOT_DB says for this test: a fresh SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield str(tmp_path / "bot.db")
        return
    server: Server = request.getfixturevalue("pg_server")
    url = server.fresh()
    try:
        yield url
    finally:
        server.drop(url)


@pytest.fixture
async def world(tmp_path: Path, db_target: str) -> AsyncIterator[World]:
    """Simulator plus a running bot over a fresh database (SQLite unless the module asks for both)."""
    w = await make_world(tmp_path, db=db_target)
    await w.start_bot()
    try:
        yield w
    finally:
        await w.stop_bot()
        await w.sim.stop()


@pytest.fixture
async def bare_world(tmp_path: Path, db_target: str) -> AsyncIterator[World]:
    """Simulator only; the test starts the bot itself (e.g. with other settings)."""
    w = await make_world(tmp_path, db=db_target)
    try:
        yield w
    finally:
        await w.stop_bot()
        await w.sim.stop()


@pytest.fixture
async def database(db_target: str) -> AsyncIterator[Database]:
    """An open database of the test's backend, migrated, nothing else running."""
    db = open_database(db_target, pool_size=4)
    await db.open()
    try:
        yield db
    finally:
        await db.close()
