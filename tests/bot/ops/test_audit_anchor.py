"""The running bot keys its audit chain and anchors it every hour; `audit verify` uses both."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest

from storage.audit import WrongAuditKey
from tests.bot.finance.finance_support import TOKEN, api, file_expense
from tests.commands import run_bot_command
from tests.world import World


async def audit_verify(world: World) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "BOT_"))}
    done = await run_bot_command("audit", "verify", env={**env, **world.storage_env()})
    return done.returncode, done.stdout + done.stderr


def anchors(world: World) -> list[tuple[str, str]]:
    found = world.rows("SELECT number, data FROM webhook_events WHERE type = 'audit.anchor' ORDER BY id")
    return [(r["number"], r["data"]) for r in found]


async def an_hour_later(world: World) -> None:
    world.clock.advance(timedelta(minutes=61))
    await world.bot.scheduler.tick()
    await asyncio.sleep(0.2)  # the job runs in its own task


async def test_anchors_go_out_hourly_and_verify_catches_a_shortened_log(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    data_dir = world.db_path.parent
    assert (data_dir / "audit.key").stat().st_mode & 0o777 == 0o600  # generated on first start
    await file_expense(world, "liuyang", "88", "交通")
    code, out = await audit_verify(world)
    assert code == 0 and "chain intact" in out and "no anchor yet" in out

    await an_hour_later(world)
    await world.sim.wait_for(lambda: anchors(world), timeout=5)
    [head] = world.rows("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
    head_id, head_hash = head["id"], head["hash"]
    [(stream, data)] = anchors(world)
    assert stream == "audit" and f'"head_id":{head_id}' in data and head_hash in data
    assert str(head_id) in (data_dir / "audit.anchor").read_text()
    status, listed = await api(world, "GET", "/api/v1/events")
    assert status == 200 and listed["items"][-1]["type"] == "audit.anchor"
    assert listed["items"][-1]["data"]["head_hash"] == head_hash
    await an_hour_later(world)
    assert len(anchors(world)) == 1  # nothing new to anchor

    await file_expense(world, "chenjing", "66", "餐饮")
    code, out = await audit_verify(world)
    assert code == 0 and "matches the anchor of" in out and f"(row {head_id})" in out
    world.drop_trigger("audit_log_retention", "audit_log")  # someone removes the evidence of the last hours
    world.rows("DELETE FROM audit_log WHERE id >= ?", (head_id - 1,))
    code, out = await audit_verify(world)
    assert code == 1 and "BROKEN" in out and "rows were removed" in out


async def test_the_bot_will_not_start_on_a_log_of_another_key(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(bot_audit_key="the-key-it-was-written-with")
    assert not (world.db_path.parent / "audit.key").exists()  # a configured key is not written to disk
    await file_expense(world, "liuyang", "88", "交通")
    await world.stop_bot()
    with pytest.raises(WrongAuditKey):
        await world.start_bot(bot_audit_key="a-key-set-by-mistake")
    await world.stop_bot()
    await world.start_bot(bot_audit_key="the-key-it-was-written-with")
