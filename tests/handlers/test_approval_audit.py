"""The audit chain after a full approval flow: verify passes, and a tampered decision is caught."""

from __future__ import annotations

import json
import os

from bot.ops.audit_cli import verify
from tests.commands import Finished, run_bot_command
from tests.handlers.approval_helpers import click, file_expense, wait_card
from tests.world import World


async def run_verify(world: World) -> Finished:
    return await run_bot_command("audit", "verify", env={**os.environ, **world.storage_env()})


async def test_audit_chain_after_full_flow(world: World) -> None:
    w = world
    number = await file_expense(w, "liuyang", "1200", "办公")
    await click(w, "wangfang", await wait_card(w, "wangfang", number, step=0), "approve", number)
    await click(w, "wuqiang", await wait_card(w, "wuqiang", number, step=1), "approve", number)
    settings = w.settings
    assert settings is not None
    await w.stop_bot()

    rows = w.rows("SELECT id, actor, action, data FROM audit_log WHERE subject = ? ORDER BY id", (f"expense:{number}",))
    actions = [(r["actor"], r["action"]) for r in rows]
    assert ("wangfang", "expense.approve") in actions and ("wuqiang", "expense.approve") in actions
    assert actions[-1] == ("bot", "expense.approved")
    assert await verify(settings) == 0
    ok = await run_verify(w)
    assert ok.returncode == 0 and "OK" in ok.stdout

    # someone with file access rewrites the leader's decision: the chain names that row
    leader_row = next(r for r in rows if r["actor"] == "wangfang")
    data = json.loads(leader_row["data"])
    data["step"] = 99
    w.drop_trigger("audit_log_no_update", "audit_log")
    w.rows("UPDATE audit_log SET data = ? WHERE id = ?", (json.dumps(data), leader_row["id"]))
    broken = await run_verify(w)
    assert broken.returncode == 1
    assert f"row {leader_row['id']}" in broken.stdout and "BROKEN" in broken.stdout
    assert await verify(settings) == 1
