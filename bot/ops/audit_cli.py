"""`python run_bot.py audit verify`: walk the keyed hash chain, check it against its last anchor, and
name the first row that no longer fits."""

from __future__ import annotations

from pathlib import Path

from config import Settings
from storage.audit import AuditRepo, ChainReport
from storage.audit_files import ANCHOR_FILE, KEY_FILE, AnchorTampered, load_key, read_anchor
from storage.connect import open_database


async def verify(settings: Settings) -> int:
    """0: intact; 1: broken (or the anchor file was changed); 2: nothing to check with."""
    if not settings.postgres and not Path(settings.bot_db).exists():
        print(f"no database at {settings.bot_db}")
        return 2
    key = load_key(settings.bot_audit_key.get_secret_value(), settings.data_dir, create=False)
    if key is None:
        print(f"no audit key: set BOT_AUDIT_KEY or keep {settings.data_dir / KEY_FILE} next to the database")
        return 2
    try:
        anchor = read_anchor(settings.data_dir, key)
    except AnchorTampered as exc:
        print(f"audit log NOT VERIFIED: {exc}")
        return 1
    db = open_database(settings.bot_db)
    await db.open()
    try:
        async with db.read() as tx:
            report = await tx.repo(AuditRepo).verify(key, anchor)
    finally:
        await db.close()
    print(describe(report))
    return 0 if report.ok else 1


def describe(report: ChainReport) -> str:
    if not report.ok:
        return f"audit log BROKEN at row {report.first_broken}: {report.reason}"
    lines = [f"audit log OK: {report.rows} rows, chain intact"]
    if report.unkeyed:
        lines.append(f"  the first {report.unkeyed} rows predate the key (plain SHA-256); every row after is keyed")
    if report.anchor is None:
        lines.append(f"  no anchor yet ({ANCHOR_FILE} is written every hour): removal of the newest rows"
                     " cannot be ruled out")
    else:
        lines.append(f"  matches the anchor of {report.anchor.at} (row {report.anchor.id})")
    return "\n".join(lines)
