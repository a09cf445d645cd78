"""The audit chain's life outside its table: the key at start, and an anchor every hour.

At start the key is read (`BOT_AUDIT_KEY`, else `audit.key` in the data folder, generated on first
start) and a chain written before keys is re-keyed from its head. Every hour the head is anchored:
an `audit.anchor` event goes to the finance platform through the webhook outbox, and the same head
is written to `audit.anchor` next to the key, so `audit verify` can tell a shortened or rewritten
log from an intact one.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from chat.context import Services
from config import Settings
from storage.audit import Anchor, AuditKey, AuditRepo
from storage.audit_files import AnchorTampered, load_key, read_anchor, write_anchor
from storage.codec import to_db_time
from storage.db import Database
from storage.finance_events import WebhookRepo

log = logging.getLogger(__name__)

ANCHOR_EVENT = "audit.anchor"
ANCHOR_STREAM = "audit"  # webhook rows are ordered per stream: an expense's by its number, anchors here


async def open_chain(db: Database, settings: Settings, now: datetime) -> AuditKey:
    key = load_key(settings.bot_audit_key.get_secret_value(), settings.data_dir, create=True)
    assert key is not None  # created when missing
    async with db.transaction() as tx:
        if await tx.repo(AuditRepo).key_chain(key, now):
            log.warning("audit log: the chain is keyed from now on (earlier rows stay verifiable as they were)")
    return key


async def anchor_chain(db: Database, services: Services) -> Anchor | None:
    """Anchor the head when it moved since the last anchor; returns the new anchor."""
    key = services.audit_key
    assert key is not None, "the chain is opened at start"
    data_dir = services.settings.data_dir
    try:
        last = read_anchor(data_dir, key)
    except AnchorTampered:
        log.error("audit anchor file is not valid; writing a fresh one (audit verify reports the log itself)")
        last = None
    now = services.clock.now()
    async with db.transaction() as tx:
        head = await tx.repo(AuditRepo).head()
        if head is None or (last is not None and (last.id, last.hash) == (head.id, head.hash)):
            return None
        anchor = Anchor(head.id, head.hash, to_db_time(now))
        data = {"head_id": anchor.id, "head_hash": anchor.hash, "anchored_at": anchor.at}
        await tx.repo(WebhookRepo).add(str(uuid.uuid4()), ANCHOR_EVENT, ANCHOR_STREAM, data, now)
        tx.after_commit(services.wake_sender)
    write_anchor(data_dir, key, anchor)
    return anchor
