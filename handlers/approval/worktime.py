"""Working-time arithmetic for reminders: '24 hours' means 24 working hours, not a weekend.

Working days are ISO weekdays (1 = Monday) and working hours a [start, end) pair of local hours,
both from the `[approval]` rules; times go in and out as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def add_working_hours(
    start: datetime, hours: float, zone: ZoneInfo, days: tuple[int, ...], window: tuple[int, int]
) -> datetime:
    """The moment `hours` of working time after `start` have passed."""
    if not days or window[1] <= window[0]:
        return start + timedelta(hours=hours)
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(zone)
    for _ in range(3660):  # ten years of days: a generous bound that still ends
        midnight = datetime.combine(cursor.date(), time(0), tzinfo=zone)
        day_start, day_end = midnight + timedelta(hours=window[0]), midnight + timedelta(hours=window[1])
        if cursor.isoweekday() in days and cursor < day_end:
            begin = max(cursor, day_start)
            available = day_end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= available
        cursor = datetime.combine(cursor.date() + timedelta(days=1), time(0), tzinfo=zone)
    return start + timedelta(hours=hours)

