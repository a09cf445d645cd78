"""What keeps the audit chain honest from outside the database: its key and its last anchor.

Both live in files next to each other in the data folder (`audit.key`, `audit.anchor`), or the key
comes from `BOT_AUDIT_KEY`, which keeps it off the machine's disk altogether. The anchor file holds
the head of the chain at the last hourly anchor, with an HMAC so it cannot be edited to match a
shortened log; the same head goes to the finance platform as an `audit.anchor` webhook event.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from storage.audit import Anchor, AuditKey

KEY_FILE = "audit.key"
ANCHOR_FILE = "audit.anchor"


class AnchorTampered(Exception):
    """The anchor file does not carry a valid HMAC under the audit key."""


def load_key(configured: str, data_dir: Path, *, create: bool) -> AuditKey | None:
    """`BOT_AUDIT_KEY` when set; else the key file, generated (owner-only) on first start when `create`."""
    if configured:
        return AuditKey(configured.encode("utf-8"))
    path = data_dir / KEY_FILE
    if not path.exists():
        if not create:
            return None
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
    return AuditKey(path.read_text(encoding="ascii").strip().encode("utf-8"))


def _anchor_mac(key: AuditKey, anchor: Anchor) -> str:
    return key.mac(f"audit-anchor\x1f{anchor.id}\x1f{anchor.hash}\x1f{anchor.at}")


def write_anchor(data_dir: Path, key: AuditKey, anchor: Anchor) -> None:
    body = {"id": anchor.id, "hash": anchor.hash, "at": anchor.at, "mac": _anchor_mac(key, anchor)}
    path = data_dir / ANCHOR_FILE
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(body) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_anchor(data_dir: Path, key: AuditKey) -> Anchor | None:
    """The last anchor, None before the first one; `AnchorTampered` when the file was edited."""
    path = data_dir / ANCHOR_FILE
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        anchor = Anchor(int(body["id"]), str(body["hash"]), str(body["at"]))
        valid = secrets.compare_digest(str(body["mac"]), _anchor_mac(key, anchor))
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorTampered(f"{path} is not an anchor file") from exc
    if not valid:
        raise AnchorTampered(f"{path} was changed (its HMAC does not match)")
    return anchor
