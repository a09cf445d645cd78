"""Credentials stay out of logs, reprs, the outbound table and the admins' failed-message list."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot.ops.logs import TEXT_FORMAT, JsonFormatter, OneLineFormatter, one_line, redact
from storage.sqlite import SqliteDatabase
from tests.bot.finance.finance_support import TOKEN, api, approved_expense, today
from tests.world import World

ROBOT_KEY = "leaky-robot-key-7f3a9c2e"
WEBHOOK_SECRET = "webhook-secret-5d1b8e"


def _failed_robot_rows(world: World) -> list[tuple[str, str]]:
    found = world.rows("SELECT order_key, last_error FROM outbound WHERE channel = 'robot' AND status = 'failed'")
    return [(r["order_key"], r["last_error"]) for r in found]


async def test_a_failing_robot_send_leaks_no_credential(bare_world: World, caplog: pytest.LogCaptureFixture) -> None:
    world = bare_world
    caplog.set_level(logging.DEBUG)
    bot = await world.start_bot(finance_api_token=TOKEN, finance_webhook_secret=WEBHOOK_SECRET)
    month = today(world)[:7]
    body = {"department_id": 3, "period": month, "amount": "1200", "owner": "wangfang", "robot_key": ROBOT_KEY}
    assert (await api(world, "PUT", "/api/v1/budgets/fe-month", body))[0] == 201
    await approved_expense(world)  # 1000 of 1200 crosses 80%: the alert goes to a robot WeCom does not know
    await world.sim.wait_for(lambda: _failed_robot_rows(world), timeout=10)
    listing = await world.reply_to("xuhui", "失败消息")

    secrets = {ROBOT_KEY, WEBHOOK_SECRET, TOKEN, world.sim.secret, world.sim.token, world.sim.aes_key,
               world.sim.contact_secret, (world.db_path.parent / "audit.key").read_text().strip()}
    [(order_key, error)] = _failed_robot_rows(world)
    assert order_key.startswith("robot:") and "93000" in error
    assert order_key in listing  # the admin still sees which queue failed, by its digest
    # the bot's own records: the access log is the test servers' (the simulator's shows the robot URL
    # WeCom received); `serve` runs the bot without one
    records = [r for r in caplog.records if r.name != "aiohttp.access"]
    async with bot.db.read() as tx:
        context = bot.context(tx, "probe")
        texts = {
            "the admin's list": listing, "the order key": order_key, "the error": error,
            "log messages": "\n".join(r.getMessage() for r in records),
            "text log lines": "\n".join(OneLineFormatter(TEXT_FORMAT).format(r) for r in records),
            "JSON log lines": "\n".join(JsonFormatter().format(r) for r in records),
            "repr(settings)": repr(bot.settings), "repr(services)": repr(bot.services), "repr(bot)": repr(bot),
            "repr(context)": repr(context),
        }
    for where, text in texts.items():
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{where} shows {leaked}"
    assert any("failed for good" in r.getMessage() for r in records)  # the failure itself is logged


def test_log_lines_mask_credentials_and_escape_control_characters() -> None:
    assert redact("POST /cgi-bin/webhook/send?key=abc-123&debug=1") == "POST /cgi-bin/webhook/send?key=***&debug=1"
    assert redact("gettoken?corpid=ww1&corpsecret=s3cr3t") == "gettoken?corpid=ww1&corpsecret=***"
    assert redact("errcode=40001") == "errcode=40001"  # not a credential
    assert one_line("a.pdf\n2026-11-25 10:00:00 INFO bot: forged\r\x1b[2J\u2028") == (
        "a.pdf\\n2026-11-25 10:00:00 INFO bot: forged\\r\\u001b[2J\\u2028")


async def test_queued_robot_rows_lose_their_key_on_upgrade(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "bot.db")
    await db.open()
    await db.close()
    with sqlite3.connect(tmp_path / "bot.db") as conn:  # rows as an older version queued them
        conn.execute("DELETE FROM schema_migrations WHERE version = 30")
        for key in (ROBOT_KEY, ROBOT_KEY, "other-robot-key", ROBOT_KEY):
            conn.execute("INSERT INTO outbound (channel, order_key, body, not_before, created_at) VALUES"
                         " ('robot', ?, '{}', '2026-11-25T02:00:00.000000Z', '2026-11-25T02:00:00.000000Z')",
                         (f"robot:{key}",))
    await db.open()
    await db.close()
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        keys = [r[0] for r in conn.execute("SELECT order_key FROM outbound ORDER BY id")]
    assert keys == ["robot:legacy-1", "robot:legacy-1", "robot:legacy-3", "robot:legacy-1"]
