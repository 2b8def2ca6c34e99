"""The staff digest of today's unanswered questions and hand-offs, by the Beijing calendar day."""

from __future__ import annotations

import datetime as dt

from kb.admin.digest import day_bounds_utc, today_in_china, unanswered_digest
from kb.store.models import AskedQuestion

DAY = dt.date(2026, 2, 26)


def utc(hour: int, minute: int = 0, day: int = 26) -> dt.datetime:
    return dt.datetime(2026, 2, day, hour, minute)


def test_a_beijing_day_starts_at_16_00_utc_the_day_before():
    assert day_bounds_utc(DAY) == (dt.datetime(2026, 2, 25, 16), dt.datetime(2026, 2, 26, 16))
    assert today_in_china(dt.datetime(2026, 2, 25, 16, 30, tzinfo=dt.timezone.utc)) == DAY


def test_the_digest_counts_and_lists_the_days_questions_in_beijing_time(sessions):
    with sessions.begin() as session:
        session.add_all([
            AskedQuestion(created_at=utc(15, 59, day=25), kind="unanswered", channel="rest", text="前一天23:59"),
            AskedQuestion(created_at=utc(16, 0, day=25), kind="unanswered", channel="socketio", text="零点整"),
            AskedQuestion(created_at=utc(2, 15), kind="handoff", channel="rest", text="转人工"),
            AskedQuestion(created_at=utc(1, 0), kind="unanswered", channel="dingtalk", text="海外仓补助"),
            AskedQuestion(created_at=utc(16, 0), kind="unanswered", channel="rest", text="第二天零点"),
        ])
    with sessions() as session:
        digest = unanswered_digest(session=session, day=DAY)
    assert (digest.unanswered, digest.handoff, digest.total) == (2, 1, 3)
    assert [(i.time, i.kind, i.text) for i in digest.items] == [
        ("00:00", "unanswered", "零点整"), ("09:00", "unanswered", "海外仓补助"), ("10:15", "handoff", "转人工")]


def test_the_digest_lists_at_most_the_limit_but_counts_everything(sessions):
    with sessions.begin() as session:
        session.add_all([AskedQuestion(created_at=utc(1, n), kind="unanswered", channel="rest", text=f"问题{n}")
                         for n in range(5)])
    with sessions() as session:
        digest = unanswered_digest(session=session, day=DAY, limit=2)
    assert digest.unanswered == 5 and [i.text for i in digest.items] == ["问题0", "问题1"]


def test_an_empty_day_has_an_empty_digest(sessions):
    with sessions() as session:
        assert unanswered_digest(session=session, day=DAY).total == 0
