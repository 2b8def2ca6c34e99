"""The staff digest "今日未解答": today's questions the assistant could not answer, and hand-off requests.

`AskedQuestion.created_at` is stored in UTC; "today" is the calendar day in China (UTC+8, no
daylight saving), so a question asked at 07:30 Beijing time counts for that morning, not yesterday.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.store.models import AskedQuestion

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
KINDS = ("unanswered", "handoff")


@dataclass(frozen=True)
class DigestItem:
    """One unanswered question or hand-off request of the day."""

    time: str  # HH:MM, Beijing time
    kind: str  # unanswered | handoff
    channel: str
    text: str


@dataclass(frozen=True)
class Digest:
    """A day's unanswered questions and hand-offs: the counts and the first items."""

    day: dt.date
    unanswered: int
    handoff: int
    items: tuple[DigestItem, ...]  # oldest first, at most the limit asked for

    @property
    def total(self) -> int:
        """Unanswered questions and hand-offs together."""
        return self.unanswered + self.handoff


def today_in_china(now: dt.datetime | None = None) -> dt.date:
    """The calendar day in China (UTC+8) at a moment (default: now)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(CHINA).date()


def day_bounds_utc(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The start and end of a Beijing calendar day, as the naive UTC datetimes the table stores."""
    start = dt.datetime.combine(day, dt.time(), CHINA).astimezone(dt.timezone.utc).replace(tzinfo=None)
    return start, start + dt.timedelta(days=1)


def unanswered_digest(*, session: Session, day: dt.date, limit: int = 20) -> Digest:
    """Counts by kind for the day, and its first `limit` questions in the order they were asked."""
    start, end = day_bounds_utc(day)
    in_day = (AskedQuestion.created_at >= start) & (AskedQuestion.created_at < end) & AskedQuestion.kind.in_(KINDS)
    counts = dict(session.execute(
        select(AskedQuestion.kind, func.count()).where(in_day).group_by(AskedQuestion.kind)).all())
    rows = session.execute(
        select(AskedQuestion).where(in_day).order_by(AskedQuestion.created_at, AskedQuestion.id).limit(limit)
    ).scalars()
    items = tuple(
        DigestItem(
            time=row.created_at.replace(tzinfo=dt.timezone.utc).astimezone(CHINA).strftime("%H:%M"),
            kind=row.kind, channel=row.channel, text=row.text,
        )
        for row in rows
    )
    return Digest(day, counts.get("unanswered", 0), counts.get("handoff", 0), items)
