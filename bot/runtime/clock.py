"""Time as the bot sees it: one injectable source so tests can move it (reminders, quiet hours)."""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall clock in UTC; every module asks this, never `datetime.now()` directly."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        return _time.time()


class FakeClock(Clock):
    """Real time shifted by an offset that tests move: time still flows, but can jump ahead."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = 0.0 if start is None else start.timestamp() - _time.time()

    def timestamp(self) -> float:
        return _time.time() + self._offset

    def advance(self, delta: timedelta | float) -> None:
        self._offset += delta.total_seconds() if isinstance(delta, timedelta) else delta

    def set(self, when: datetime) -> None:
        self._offset = when.timestamp() - _time.time()
