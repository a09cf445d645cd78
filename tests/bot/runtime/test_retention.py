"""The daily prune: finished rows and uploads past their retention go; what is young or still needed stays;
audit rows are archived, cut with a record in the chain, and never before their retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.runtime.clock import FakeClock
from bot.runtime.retention import prune
from chat.context import Services
from chat.events import EventBus
from config import SettingsError, load_settings
from handlers.rules import Rules
from simulator.invoice_art import render_invoice_pdf, sample_fields
from storage.audit import AuditKey, AuditRepo
from storage.connect import open_database
from storage.uploads import UploadFiles
from tests.bot.finance.finance_support import SECRET, TOKEN, Receiver, file_expense
from tests.bot.finance.test_idempotency import NOTE, _post
from tests.bot.h5.h5_support import browser, login, rows, upload
from tests.world import World

KEY = AuditKey(b"retention-test-key")


FINISHED = {"inbox": "status = 'done'", "outbound": "status = 'sent'", "webhook_events": "status = 'delivered'"}


def count(world: World, table: str, where: str = "1 = 1") -> int:
    return int(rows(world, f"SELECT COUNT(*) FROM {table} WHERE {where}")[0][0])


async def test_the_daily_prune_keeps_what_is_young_and_what_people_act_on(bare_world: World) -> None:
    world = bare_world
    receiver = Receiver()
    await world.start_bot(finance_api_token=TOKEN, finance_webhook_url=await receiver.start(),
                          finance_webhook_secret=SECRET)
    try:
        fields = sample_fields(3)
        async with browser() as session:  # one upload filed, one abandoned
            csrf = await login(session, world, "liuyang")
            assert (await upload(session, world, csrf, render_invoice_pdf(fields)))[0] == 200
            await world.sim.wait_for_message(to="liuyang", contains="已识别发票", timeout=30)
            await world.reply_to("liuyang", "办公")
            await world.reply_to("liuyang", "确认", contains="已提交报销")
            assert (await upload(session, world, csrf, b"%PDF-1.4\n% not an invoice\n"))[0] == 200
        await receiver.wait_for(1)
        world.sim.fail_next("message/send", errcode=40003)  # invalid userid: refused for good
        await world.say("chenjing", "帮助")
        await world.sim.wait_for(lambda: count(world, "outbound", "status = 'failed'") == 1, timeout=5)
        assert (await _post(world, NOTE, "once"))[0] == 202
        await world.delivered()
        old = {table: rows(world, f"SELECT MAX(id) FROM {table}")[0][0] for table in (*FINISHED, "audit_log")}
        assert all(old.values()) and count(world, "idempotency_keys") == 1 and count(world, "uploads") == 2
        files = world.db_path.parent / "uploads"
        assert len(list(files.glob("*/*"))) == 2

        world.clock.advance(timedelta(days=31))
        number = await file_expense(world, "zhoumin", "66", "餐饮")  # young rows of every kind
        await receiver.wait_for(2)
        await world.delivered()
        world.clock.advance(timedelta(days=1, minutes=1))  # the daily job runs (again) after the young rows
        await world.bot.scheduler.tick()
        for table, finished in FINISHED.items():
            await world.sim.wait_for(lambda t=table, f=finished: count(world, t, f"{f} AND id <= {old[t]}") == 0,
                                     timeout=10)
            assert count(world, table, f"{finished} AND id > {old[table]}")  # the young ones stay
        await world.sim.wait_for(lambda: count(world, "uploads") == 1, timeout=10)  # the abandoned one went
        # the filed one stays with its expense: the invoice's original, shown on the expense's page
        assert rows(world, "SELECT u.sha256 = e.file_sha256 FROM uploads u, expenses e WHERE e.file_sha256 IS NOT NULL"
                           " ") == [(1,)]
        assert len(list(files.glob("*/*"))) == 1 and count(world, "idempotency_keys") == 0
        assert count(world, "outbound", "status = 'failed'") == 1  # admins still act on it
        assert count(world, "audit_log", f"id <= {old['audit_log']}") == old["audit_log"]  # no audit retention set
        assert rows(world, f"SELECT status FROM expenses WHERE number = '{number}'") == [("submitted",)]
    finally:
        await receiver.stop()


@pytest.mark.backends("sqlite", "postgres")  # the append-only and retention triggers are each backend's own
async def test_audit_rows_are_archived_and_cut_only_past_their_retention(bare_world: World, tmp_path: Path) -> None:
    world = bare_world  # only its database: nothing runs but the prune
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    settings = load_settings(demo=True, bot_db=world.db, bot_data_dir=tmp_path, bot_retention_audit_days=200)
    services = Services(settings=settings, clock=FakeClock(now), rules=Rules(), gateway=None,  # type: ignore[arg-type]
                        events=EventBus(), audit_key=KEY)
    db = open_database(world.db)
    await db.open()
    try:
        ages = [400, 300, 201, 200, 199, 10, 0]  # days; the row of exactly 200 days is kept
        async with db.transaction() as tx:
            for i, days in enumerate(ages):
                await tx.repo(AuditRepo).append(at=now - timedelta(days=days, seconds=-1 if days == 200 else 0),
                                                actor="u", action="a", subject=f"s{i}", data={"days": days}, key=KEY)
        removed = await prune(db, services, UploadFiles(tmp_path))
        assert removed["audit_log"] == 3
        async with db.read() as tx:
            report = await tx.repo(AuditRepo).verify(KEY)
            kept = [r["data"] for r in await tx.repo(AuditRepo).oldest(100)]
        assert report.ok and report.rows == 5
        assert [json.loads(d).get("days") for d in kept] == [200, 199, 10, 0, None]  # and the record of the cut
        [archived] = (tmp_path / "audit-archive").glob("*.jsonl")
        lines = [json.loads(line) for line in archived.read_text().splitlines()]
        assert [json.loads(r["data"])["days"] for r in lines] == [400, 300, 201]
        cut = json.loads(kept[-1])
        assert (cut["first_id"], cut["archived_rows"], cut["archive"]) == (4, 3, archived.name)
        assert cut["prev_hash"] == lines[-1]["hash"]  # the archive links into what stayed
        assert (await prune(db, services, UploadFiles(tmp_path))).get("audit_log") == 0
    finally:
        await db.close()
    world.drop_trigger("audit_log_retention", "audit_log")  # a cut the chain does not record is still found
    world.rows("DELETE FROM audit_log WHERE id = 4")
    await db.open()
    try:
        async with db.read() as tx:
            assert (await tx.repo(AuditRepo).verify(KEY)).first_broken == 5
    finally:
        await db.close()


def test_the_audit_log_is_kept_at_least_180_days() -> None:
    assert load_settings(demo=True).bot_retention_audit_days == 0  # the default keeps every row
    assert load_settings(demo=True, bot_retention_audit_days=180).bot_retention_audit_days == 180
    with pytest.raises(SettingsError, match="BOT_RETENTION_AUDIT_DAYS: the audit log is kept at least 180 days"):
        load_settings(demo=True, bot_retention_audit_days=90)


