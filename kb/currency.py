"""Is a measure still current? A pure function of the measure, the date, and the family's other measures.

An answer about a measure says when its application window closed, when it expired, or that a newer
edition replaced it ("2025年度申报已于2025年10月28日截止；更新的年度通知尚未收录"). `measure_currency`
decides which; it reads measures through getattr, so it takes ORM rows and answer-path records alike.
`stale` lists the measures that are no longer current, for `huiqi kb stale` and the staff digest.

States, first that applies wins:
    draft          its document is a consultation draft (征求意见稿), not in force
    superseded     the family has the same measure in a newer edition, already begun
    window_closed  its application window ended before today
    expired        its valid_to is before today
    not_yet_open   its application window opens after today
    open           today is inside its application window
    current        none of the above
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kb.store.models import DRAFT, YEARLY

CURRENT, OPEN, NOT_YET_OPEN, EXPIRED, WINDOW_CLOSED, SUPERSEDED, IS_DRAFT = (
    "current", "open", "not_yet_open", "expired", "window_closed", "superseded", "draft")
STALE = (SUPERSEDED, WINDOW_CLOSED, EXPIRED)

_YEAR = re.compile(r"(19|20)\d{2}")
_REMARK = re.compile(r"[（(][^（）()]*[）)]")
_TITLE_NOISE = re.compile(r"(19|20)\d{2}年度?|第[一二三四五六七八九十]+批|[（）()：:，,、“”\s]")


def recurs_yearly(measure: Any) -> bool:
    """Whether the measure is the latest edition of a programme called every year (`application_window.recurs`)."""
    return (getattr(measure, "application_window", None) or {}).get("recurs") == YEARLY


@dataclass(frozen=True)
class Currency:
    """A measure's standing on a day (current, open, not yet open, window closed, expired, superseded, draft)."""

    state: str
    closed_on: dt.date | None = None  # the day the window closed or the measure expired
    until: dt.date | None = None  # the last day it is (or was) open or valid
    current_measure_id: str | None = None  # the newer edition's measure, when superseded
    current_edition: str | None = None
    note: str = ""  # one sentence for staff and the answer path

    @property
    def stale(self) -> bool:
        """Whether the measure is no longer current: superseded, its window closed, or expired."""
        return self.state in STALE


def as_date(value: Any) -> dt.date | None:
    """A day as stored: a date, or ISO text (JSON columns hold windows as text); None when it is neither."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def edition_of(measure: Any) -> str | None:
    """The measure's edition: its own attribute, its document's, else the year in its document id."""
    edition = getattr(measure, "edition", None) or getattr(getattr(measure, "document", None), "edition", None)
    if edition:
        return str(edition)
    match = _YEAR.search(str(getattr(measure, "document_id", "") or ""))
    return match.group(0) if match else None


def _document_status(measure: Any) -> str | None:
    return getattr(measure, "status", None) or getattr(getattr(measure, "document", None), "status", None)


def _stem(title: str) -> str:
    return _TITLE_NOISE.sub("", _REMARK.sub("", title or ""))


def _same_measure(a: Any, b: Any) -> bool:
    """Two editions of one measure, by title, or by id and a shared run of five characters.

    Titles equal once years and remarks are dropped; or ids equal once years are dropped and titles
    sharing five characters in a row ("8+4总体安排", "省自然资源").
    """
    first, second = _stem(a.title), _stem(b.title)
    if first and first == second:
        return True
    if _YEAR.sub("", a.id) != _YEAR.sub("", b.id):
        return False
    return any(first[i:i + 5] in second for i in range(len(first) - 4))


def newer_edition(measure: Any, measures_of_family: Iterable[Any], *, today: dt.date) -> Any | None:
    """The newest measure of the family that is this measure in a later edition already begun, if any."""
    edition = edition_of(measure) or ""
    newer = []
    for other in measures_of_family:
        other_edition = edition_of(other) or ""
        if other.id == measure.id or other_edition <= edition or _document_status(other) == DRAFT:
            continue
        begun = as_date(getattr(other, "valid_from", None))
        if begun is not None and begun > today:
            continue
        if _same_measure(measure, other):
            newer.append((other_edition, other.id, other))
    return max(newer)[2] if newer else None


def measure_currency(measure: Any, *, today: dt.date, measures_of_family: Iterable[Any] | None = None) -> Currency:
    """Say whether `measure` is current on `today`, and if not, since when and what replaced it."""
    window = getattr(measure, "application_window", None) or {}
    opens, closes = as_date(window.get("from")), as_date(window.get("until"))
    valid_to = as_date(getattr(measure, "valid_to", None))
    call = f"（{window['call']}）" if window.get("call") else ""

    if _document_status(measure) == DRAFT:
        return Currency(IS_DRAFT, note="这是征求意见稿的内容，不是正式政策，以正式印发的文件为准。")
    if measures_of_family is not None:
        newer = newer_edition(measure, measures_of_family, today=today)
        if newer is not None:
            edition = edition_of(newer)
            ended = closes if closes and closes < today else valid_to if valid_to and valid_to < today else None
            return Currency(SUPERSEDED, closed_on=ended, until=closes or valid_to, current_measure_id=newer.id,
                            current_edition=edition, note=f"已有{edition}年版，以{edition}年版为准。")
    known = measures_of_family is not None  # only then can it say that no newer edition is recorded
    if closes and closes < today:
        return Currency(WINDOW_CLOSED, closed_on=closes, until=closes,
                        note=f"申报已于{_cn(closes)}截止{call}{'；更新的年度通知尚未收录' if known else ''}。")
    if valid_to and valid_to < today:
        return Currency(EXPIRED, closed_on=valid_to, until=valid_to,
                        note=f"已于{_cn(valid_to)}到期{'；未收录更新的版本' if known else ''}。")
    if opens and opens > today:
        return Currency(NOT_YET_OPEN, until=closes, note=f"申报{_cn(opens)}开始{call}。")
    if closes:
        return Currency(OPEN, until=closes, note=f"正在申报，{_cn(closes)}截止{call}。")
    return Currency(CURRENT, until=valid_to)


def stale(measures: Iterable[Any], *, today: dt.date, family_of=None) -> list[tuple[Any, Currency]]:
    """Measures past their window or validity, or superseded, with their currency; by family and id.

    `family_of(measure)` names a measure's family (default: its document's family).
    """
    family_of = family_of or (lambda m: getattr(getattr(m, "document", None), "family", None))
    measures = list(measures)
    by_family: dict[Any, list[Any]] = {}
    for measure in measures:
        by_family.setdefault(family_of(measure), []).append(measure)
    found = []
    for measure in measures:
        currency = measure_currency(measure, today=today, measures_of_family=by_family[family_of(measure)])
        if currency.stale:
            found.append((measure, currency))
    return sorted(found, key=lambda pair: (str(family_of(pair[0])), pair[0].id))


def stale_records(measures: Iterable[Any], *, today: dt.date) -> list[dict[str, Any]]:
    """`stale` as plain records for the CLI, the admin API and the staff digest."""
    return [{"id": m.id, "title": m.title, "family": getattr(getattr(m, "document", None), "family", None),
             "edition": edition_of(m), "state": c.state,
             "closed_on": c.closed_on.isoformat() if c.closed_on else None,
             "current_measure_id": c.current_measure_id, "current_edition": c.current_edition, "note": c.note}
            for m, c in stale(measures, today=today)]
