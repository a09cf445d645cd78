"""A real PostgreSQL for the tests: `BOT_TEST_POSTGRES_URL` when set, else a throwaway server.

The throwaway one is Debian's `postgresql` package run by hand (`initdb` + `pg_ctl`) in a temporary
folder on a free loopback port, once per test session; as root it runs as the unprivileged
`postgres` user. It skips fsync (nothing in it outlives the session). Every test that asks gets a
fresh database, copied from a template that was migrated once (`CREATE DATABASE ... TEMPLATE`).
The server runs on the real clock even when the tests run under faketime (its environment is
cleaned), like a database server elsewhere would. The benchmarks start one too (`durable=True`).
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from storage.postgres import PostgresDatabase
from tests.world import free_port

TEMPLATE = "bot_template"
_numbers = itertools.count(1)


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql; ./dev test does it)")
    return found[-1]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("FAKETIME", "LD_PRELOAD", "DONT_FAKE"))}


class Server:
    """A running PostgreSQL: its admin URL and fresh databases on demand."""

    def __init__(self, url: str, stop: Any = None) -> None:
        self.url = url
        self._stop = stop
        self._made: list[str] = []

    def with_database(self, name: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def admin(self, sql: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def prepare_template(self) -> None:
        """The template every test database copies: all migrations applied once."""
        self.admin(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        self.admin(f"CREATE DATABASE {TEMPLATE}")

        async def migrate() -> None:
            db = PostgresDatabase(self.with_database(TEMPLATE), pool_size=2)
            await db.open()
            await db.close()

        asyncio.run(migrate())

    def fresh(self) -> str:
        name = f"bot_test_{os.getpid()}_{next(_numbers)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        self._made.append(name)
        return self.with_database(name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()


@contextmanager
def throwaway(*, durable: bool = False) -> Iterator[Server]:
    """A server of our own; `durable` keeps PostgreSQL's fsync'd commits (benchmarks measure those)."""
    folder = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    data = folder / "data"
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    run = {"check": True, "env": _env(), "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    subprocess.run([*as_user, _bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-locale", "--no-sync"], **run)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=300"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run([*as_user, _bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w",
                    "start"], **run)

    def stop() -> None:
        subprocess.run([*as_user, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], env=_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(folder, ignore_errors=True)

    server = Server(f"postgresql://postgres@127.0.0.1:{port}/postgres", stop)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def postgres_server() -> Iterator[Server]:
    url = os.environ.get("BOT_TEST_POSTGRES_URL")
    if url:
        server = Server(url)
        server.prepare_template()
        yield server
        return
    with throwaway() as server:
        server.prepare_template()
        yield server
