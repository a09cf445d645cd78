"""Log set-up: one escaped line per record by default, one JSON object per line with `--log-json`.

Log lines quote what outsiders send (file names, error texts of other servers), so a record is
made safe in one place, here: control characters are escaped (a newline in an upload's file name
cannot start a forged line), tracebacks are indented under their record, and credentials that
errors may quote in URLs (`access_token=`, `corpsecret=`, a robot's `key=`) are masked.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SECRET_PARAMS = re.compile(r"\b(access_token|corpsecret|key|code)=[^&\s'\"]+")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def redact(text: str) -> str:
    """Errors may quote request URLs; credentials in them must never reach logs or the database."""
    return SECRET_PARAMS.sub(r"\1=***", text)


def one_line(text: str) -> str:
    """Control characters (and Unicode line separators) as visible escapes."""
    return CONTROL.sub(lambda m: ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


class OneLineFormatter(logging.Formatter):
    """The human-readable format; a record's own text never spans lines, its traceback is indented."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = one_line(redact(record.getMessage()))
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        blocks = []
        if record.exc_info:
            blocks.append(self.formatException(record.exc_info))
        if record.stack_info:
            blocks.append(self.formatStack(record.stack_info))
        for block in blocks:
            line += "".join(f"\n    | {one_line(part)}" for part in redact(block).splitlines())
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, *, as_json: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if as_json else OneLineFormatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
