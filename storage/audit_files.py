"""What keeps the audit chain honest from outside the database: its key, its last anchor, its archive.

The files live next to each other in the data folder (`audit.key`, `audit.anchor`,
`audit-archive/`), or the key comes from `BOT_AUDIT_KEY`, which keeps it off the machine's disk
altogether. The anchor file holds the head of the chain at the last hourly anchor, with an HMAC so
it cannot be edited to match a shortened log; the same head goes to the finance platform as an
`audit.anchor` webhook event. Rows past their retention are archived as JSON lines before the
retention job removes them.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from storage.audit import Anchor, AuditKey

KEY_FILE = "audit.key"
ANCHOR_FILE = "audit.anchor"
ARCHIVE_FOLDER = "audit-archive"


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


def archive(data_dir: Path, rows: list[dict[str, Any]]) -> str:
    """Write rows, as stored (hashes included, so the archive stays verifiable with the key), to a
    JSON-lines file of the archive folder; durable before the rows are deleted. Returns its name."""
    folder = data_dir / ARCHIVE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = f"audit-{rows[0]['id']:012d}-{rows[-1]['id']:012d}.jsonl"
    with open(folder / name, "w", encoding="utf-8") as out:
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        out.flush()
        os.fsync(out.fileno())
    return name


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
