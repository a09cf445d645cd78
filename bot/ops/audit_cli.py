"""`python run_bot.py audit verify`: walk the hash chain and name the first broken row."""

from __future__ import annotations

from config import Settings
from storage.audit import AuditRepo
from storage.db import Database


async def verify(settings: Settings) -> int:
    if not settings.bot_db.exists():
        print(f"no database at {settings.bot_db}")
        return 2
    db = Database(settings.bot_db)
    await db.open()
    try:
        async with db.read() as tx:
            report = await tx.repo(AuditRepo).verify()
    finally:
        await db.close()
    if report.ok:
        print(f"audit log OK: {report.rows} rows, chain intact")
        return 0
    print(f"audit log BROKEN at row {report.first_broken}: {report.reason}")
    return 1
