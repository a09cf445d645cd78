"""The test world: a WeCom simulator and the bot, both real aiohttp servers on loopback.

Tests drive the bot only as WeCom would (encrypted callbacks from the simulator) and observe
what the bot sends back to the simulator's API; the database is a real SQLite file or a real
PostgreSQL database (`db`), read by tests through `rows()`.
"""

from __future__ import annotations

import socket
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from aiohttp import web
from aiohttp.test_utils import TestServer
from psycopg.rows import dict_row

from bot.core import create_app
from bot.parts import BOT, Bot, Plugin
from bot.runtime.clock import FakeClock
from config import Settings, load_settings
from simulator import WeComSimulator
from simulator.seed import seed_demo_org

# Every world starts at the same instant, whatever the calendar says: a Wednesday, 10:00 in
# Shanghai, far from midnight and from a month's end, so no test depends on the day it runs.
START_AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@dataclass
class World:
    sim: WeComSimulator
    clock: FakeClock
    db_path: Path
    db: str = ""  # BOT_DB: the SQLite file (db_path) or a PostgreSQL URL
    overrides: dict[str, Any] = field(default_factory=dict)
    plugins: list[Plugin] = field(default_factory=list)
    server: TestServer | None = None
    settings: Settings | None = None

    @property
    def app(self) -> web.Application:
        assert self.server is not None
        return self.server.app

    @property
    def bot(self) -> Bot:
        return self.app[BOT]

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def make_settings(self, **extra: Any) -> Settings:
        values: dict[str, Any] = {
            "demo": True,
            "wecom_corp_id": self.sim.corp_id,
            "wecom_agent_id": self.sim.agent_id,
            "wecom_secret": self.sim.secret,
            "wecom_token": self.sim.token,
            "wecom_aes_key": self.sim.aes_key,
            "wecom_contact_secret": self.sim.contact_secret,
            "wecom_api_base": self.sim.base_url,
            "wecom_oauth_base": self.sim.base_url,
            "bot_db": self.db or self.db_path,
            "bot_data_dir": self.db_path.parent,  # uploads and the audit key in the test's folder on either backend
            "bot_quiet_hours": "",
            "ocr_preload": False,  # OCR workers start with the first invoice, not with every test's bot
            # the one-time welcome card would be every seeded person's first answer; the onboarding
            # tests (tests/handlers/test_onboarding.py) switch it on
            "bot_onboarding": False,
        }
        values.update(self.overrides)
        values.update(extra)
        return load_settings(**values)

    async def start_bot(self, *, wait_sync: bool = True, **extra: Any) -> Bot:
        port = free_port()  # chosen first so the bot's public URL (links in cards) is the real one
        self.settings = self.make_settings(bot_port=port, **extra)
        app = create_app(self.settings, clock=self.clock, plugins=list(self.plugins))
        self.server = TestServer(app, host="127.0.0.1", port=port)
        await self.server.start_server()
        self.sim.bot_callback_url = f"{self.url}/wecom/callback"
        self.sim.bot_contact_url = f"{self.url}/wecom/contacts"
        self.sim.bot_public_url = self.url
        if wait_sync:
            await self.synced()
        return self.bot

    async def synced(self) -> None:
        """Wait for the start-up org sync so tests begin with the org chart in place."""
        task = self.bot.extras.get("initial_sync")
        if task is not None:
            await task

    async def stop_bot(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None

    async def restart_bot(self, **extra: Any) -> Bot:
        await self.stop_bot()
        return await self.start_bot(**extra)

    async def idle(self, timeout: float = 10.0) -> None:
        await self.bot.idle(timeout)

    @property
    def postgres(self) -> bool:
        return self.db.startswith("postgresql://")

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows as dicts, read (or written) from outside the bot, on either backend; `?` parameters."""
        if self.postgres:
            with psycopg.connect(self.db, autocommit=True, row_factory=dict_row) as pg:
                cur = pg.execute(sql.replace("%", "%%").replace("?", "%s"), params)  # type: ignore[arg-type]
                return list(cur.fetchall()) if cur.description else []
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                return [dict(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def value(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row (None when there is none)."""
        found = self.rows(sql, params)
        return next(iter(found[0].values())) if found else None

    def storage_env(self) -> dict[str, str]:
        """What a `run_bot.py` process needs to find this world's database and data folder, on either backend."""
        return {"BOT_DB": self.db, "BOT_DATA_DIR": str(self.db_path.parent)}

    def drop_trigger(self, name: str, table: str) -> None:
        """Removes a guard trigger, as someone with direct database access could (PostgreSQL names its table)."""
        self.rows(f"DROP TRIGGER {name} ON {table}" if self.postgres else f"DROP TRIGGER {name}")

    def outbound_statuses(self) -> list[str]:
        return [r["status"] for r in self.rows("SELECT status FROM outbound ORDER BY id")]

    async def delivered(self, timeout: float = 5.0) -> list[str]:
        """Wait until no outbound row is pending; returns every row's status in order."""
        await self.sim.wait_for(lambda: "pending" not in self.outbound_statuses(), timeout=timeout)
        return self.outbound_statuses()

    async def say(self, user: str, text: str) -> Any:
        result = await self.sim.send_text(user, text)
        assert result.status == 200, result
        await self.idle()
        return result

    async def reply_to(self, user: str, text: str, *, contains: str | None = None, timeout: float = 5.0) -> str:
        """Send `text` as `user` and return the text of the bot's next message to them."""
        after = len(self.sim.messages)
        await self.say(user, text)
        msg = await self.sim.wait_for_message(to=user, contains=contains, timeout=timeout, after=after)
        return message_text(msg)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message_text(msg: Any) -> str:
    """The human-readable text of a sent message, whatever its type."""
    payload = msg.payload
    if msg.msgtype in ("text", "markdown"):
        return str(payload.get("content", ""))
    if msg.msgtype == "textcard":
        return f"{payload.get('title', '')}\n{payload.get('description', '')}"
    import json

    return json.dumps(payload, ensure_ascii=False)


async def make_world(tmp_path: Path, *, db: str = "", **overrides: Any) -> World:
    clock = FakeClock(START_AT)
    sim = WeComSimulator(clock=clock.timestamp)
    seed_demo_org(sim)
    await sim.start()
    db_path = tmp_path / "bot.db"
    return World(sim=sim, clock=clock, db_path=db_path, db=db or str(db_path), overrides=overrides)
