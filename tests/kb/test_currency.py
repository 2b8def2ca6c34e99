"""Currency: a measure's window closed, its validity ended, or a newer edition replaced it; and the stale list."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from kb.currency import measure_currency, stale

TODAY = dt.date(2026, 12, 2)


def measure(measure_id: str, edition: str, title: str = "首台（套）装备认定奖励", **fields) -> SimpleNamespace:
    document = SimpleNamespace(edition=edition, family="eight_plus_four", status=fields.pop("status", "正式"))
    values = {"valid_from": None, "valid_to": None, "application_window": None}
    return SimpleNamespace(id=measure_id, title=title, document=document, document_id=f"e84-{edition}",
                           **{**values, **fields})


def test_a_closed_window_says_the_day_it_closed_and_that_no_newer_call_is_recorded():
    call = measure("sjsl-2026-b2", "2026", "2026年度第二批", application_window={
        "from": "2025-10-04", "until": "2025-10-28", "call": "2026年度第二批申报通知"})
    currency = measure_currency(call, today=TODAY, measures_of_family=[call])
    assert (currency.state, currency.closed_on) == ("window_closed", dt.date(2025, 10, 28))
    assert currency.note == "申报已于2025年10月28日截止（2026年度第二批申报通知）；更新的年度通知尚未收录。"


def test_a_measure_past_its_validity_is_expired_on_that_day():
    old = measure("e84-2024-land", "2024", "建设用地", valid_to=dt.date(2024, 12, 31))
    currency = measure_currency(old, today=TODAY)
    assert (currency.state, currency.closed_on, currency.note) == ("expired", dt.date(2024, 12, 31), "已于2024年12月31日到期。")


def test_an_older_edition_names_the_newer_one_that_replaced_it():
    older = measure("e84-2024-first-set", "2024", "首台（套）装备认定奖励（2023年度名单，2024年兑付）",
                    valid_to=dt.date(2024, 12, 31))
    newer = measure("e84-2025-first-set", "2025", valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2025, 12, 31))
    currency = measure_currency(older, today=TODAY, measures_of_family=[older, newer])
    assert (currency.state, currency.current_measure_id, currency.current_edition) == ("superseded", "e84-2025-first-set", "2025")
    assert currency.note == "已有2025年版，以2025年版为准。"


def test_a_newer_edition_that_has_not_begun_does_not_replace_the_current_one():
    current = measure("e84-2026-x", "2026", "某措施")
    future = measure("e84-2027-x", "2027", "某措施", valid_from=dt.date(2027, 1, 1))
    assert measure_currency(current, today=TODAY, measures_of_family=[current, future]).state == "current"


def test_a_consultation_draft_is_never_current():
    draft = measure("e84-2026-draft-axis", "2026", "县域发展轴", status="征求意见稿")
    assert measure_currency(draft, today=TODAY).state == "draft"


@pytest.mark.parametrize(("window", "state"), [
    ({"from": "2026-12-01", "until": "2026-12-20"}, "open"),
    ({"from": "2026-12-10", "until": "2026-12-20"}, "not_yet_open"),
    ({"note": "未找到"}, "current"),
])
def test_an_open_or_coming_window_is_current(window, state):
    assert measure_currency(measure("m", "2026", application_window=window), today=TODAY).state == state


def test_the_stale_list_holds_closed_expired_and_superseded_measures_of_the_seed(seeded):
    from kb.store import queries

    with seeded() as session:
        found = {m.id: c.state for m, c in stale(queries.all_measures(session=session), today=TODAY)}
    assert found["sjsl-2026-b2"] == "window_closed"
    assert found["e84-2024-first-set"] == "superseded"
    assert "fc-gaoqi" not in found


def test_huiqi_kb_stale_lists_closed_windows_for_the_staff_digest(tmp_path, db_url):
    import json

    from tests.kb.test_loader import run_huiqi

    env = {"HUIQI_DB_URL": db_url, "HUIQI_VAR_DIR": str(tmp_path / "var")}
    assert run_huiqi("kb", "load", env=env).returncode == 0
    text = run_huiqi("kb", "stale", "--today", "2026-12-02", env=env).stdout
    assert "sjsl-2026-b2  [申报已截止]" in text and "申报已于2025年10月28日截止" in text
    listed = json.loads(run_huiqi("kb", "stale", "--today", "2026-12-02", "--json", env=env).stdout)
    assert {"id": "e84-2024-first-set", "state": "superseded", "current_measure_id": "e84-2025-first-set"}.items() <= next(
        m for m in listed["measures"] if m["id"] == "e84-2024-first-set").items()


