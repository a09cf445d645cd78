"""The invoice as read from an image or PDF, with a confidence per field."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

FIELDS: tuple[str, ...] = (
    "invoice_type", "invoice_code", "invoice_number", "issue_date", "check_code",
    "buyer_name", "buyer_tax_id", "seller_name", "seller_tax_id",
    "amount", "tax", "total", "total_cn",
)
# The fields an expense claim cannot do without; a person must confirm them when unsure.
KEY_FIELDS: tuple[str, ...] = ("invoice_number", "issue_date", "amount", "total", "seller_tax_id")
MONEY_FIELDS: tuple[str, ...] = ("amount", "tax", "total")
DEFAULT_THRESHOLD = 0.8
_ITEM_KIND = re.compile(r"\*([^*]+)\*")


class Invoice(BaseModel):
    """Fields of a Chinese VAT invoice (增值税专用/普通发票, 全电发票); None where unknown."""

    invoice_type: str | None = None
    invoice_code: str | None = None
    invoice_number: str | None = None
    issue_date: date | None = None
    check_code: str | None = None
    buyer_name: str | None = None
    buyer_tax_id: str | None = None
    seller_name: str | None = None
    seller_tax_id: str | None = None
    amount: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    total_cn: str | None = None
    # Names in the 货物或应税劳务、服务名称 column, as printed: "*餐饮服务*餐费" (the *kind* part is the
    # tax classification's short name). Not one of the 13 fields: to_json_dict adds them on request.
    items: list[str] = Field(default_factory=list)
    confidence: dict[str, float] = Field(default_factory=dict)  # field (and "items") -> 0..1
    source: str = "ocr"

    def uncertain_fields(self, threshold: float = DEFAULT_THRESHOLD) -> list[str]:
        """Key fields that are missing or read with confidence below threshold, to ask the user about."""
        return [
            f for f in KEY_FIELDS
            if getattr(self, f) is None or self.confidence.get(f, 0.0) < threshold
        ]

    def item_kinds(self) -> list[str]:
        """The *kind* of each item (餐饮服务 for "*餐饮服务*餐费"), in order, without repeats."""
        kinds = (m.group(1) for m in (_ITEM_KIND.match(item) for item in self.items) if m)
        return list(dict.fromkeys(kinds))

    def to_json_dict(self, *, with_confidence: bool = False, with_items: bool = False) -> dict[str, Any]:
        """The 13 fields with JSON-friendly values (money as '123.45', the date as ISO, None as null);
        with_confidence adds ``confidence`` (field -> 0..1) so a reader knows what to double-check;
        with_items adds ``items`` (the item names) and, with confidence, their confidence."""
        out: dict[str, Any] = {}
        for f in FIELDS:
            value = getattr(self, f)
            if isinstance(value, Decimal):
                value = f"{value.quantize(Decimal('0.01'))}"
            elif isinstance(value, date):
                value = value.isoformat()
            out[f] = value
        if with_items:
            out["items"] = list(self.items)
        if with_confidence:
            names = (*FIELDS, "items") if with_items else FIELDS
            out["confidence"] = {f: self.confidence.get(f, 0.0) for f in names}
        return out
