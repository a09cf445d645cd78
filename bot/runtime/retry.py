"""How long to wait before the next attempt of a delivery that failed (WeCom sends, webhooks)."""

from __future__ import annotations

import random

MAX_BACKOFF = 60.0


def backoff(attempts: int, *, first: float) -> float:
    """Seconds before the next try after `attempts` failed ones: doubling from `first`, jittered
    within [base/2, base] so failed deliveries do not retry in lockstep, capped at a minute."""
    base = min(MAX_BACKOFF, first * (2 ** min(attempts, 16)))
    return base * (0.5 + random.random() / 2)
