"""What a person has been shown once already (the welcome card, the how-to-decide line)."""

from __future__ import annotations

from datetime import datetime

from storage.codec import to_db_time
from storage.db import Tx

ONCE = ("welcomed_at", "approval_hint_at")


class OnboardingRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def first_time(self, user_id: str, what: str, now: datetime) -> bool:
        """Mark `what` shown to the user; True only the first time (the caller shows it then)."""
        assert what in ONCE
        await self.tx.execute("INSERT INTO onboarding (user_id) VALUES (?) ON CONFLICT (user_id) DO NOTHING",
                              (user_id,))
        cur = await self.tx.execute(
            f"UPDATE onboarding SET {what} = ? WHERE user_id = ? AND {what} IS NULL", (to_db_time(now), user_id)
        )
        return cur.rowcount == 1
