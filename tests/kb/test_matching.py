"""kb.eligibility.service holds the measures with a rule per KB revision: a change is seen at once, nothing else re-read."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from kb.admin.importer import apply_import, read_import
from kb.answering.respond import measures_asked_about
from kb.eligibility import service as matching
from kb.errors import ValidationFailed
from kb.store.db import make_engine, make_sessionmaker
from kb.store.models import Revision
from kb.store.queries import latest_revision_id
from kb.store.schema import create_schema

TODAY = dt.date(2026, 11, 26)
FIRM = {"employees": 85, "taxable_income": 280, "total_assets": 4000, "region": "丽水市遂昌县",
        "ownership": "民营", "industry": "金属制品", "revenue": 6800.0}

NEW_RULE_MEASURE = """
measures:
  - id: test-small-firm-grant
    document: pe32-2023
    title: 小微企业测试补助
    summary: 测试用措施。
    benefits:
      - {what: 测试补助, amount: 30, unit: 万元}
    keywords: [测试补助]
    sources: [https://example.org/test-small-firm-grant]
    rule: {all: [{field: employees, op: le, value: %d}]}
"""


def import_text(sessions, tmp_path, text: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with sessions.begin() as session:
        apply_import(session, read_import(path), author="测试")


def verdict_of(sessions, measure_id: str):
    with sessions() as session:
        result = matching.match(FIRM, session=session, today=TODAY)
    return next((v for v in result.verdicts if v.measure_id == measure_id), None)


def test_the_same_revision_reuses_the_measures_read_before(seeded):
    with seeded() as session:
        first = matching.measures_with_rules(session=session)
        second = matching.measures_with_rules(session=session)
    assert first and first is second


def test_an_imported_rule_and_its_change_are_judged_at_the_next_check(seeded, tmp_path):
    assert verdict_of(seeded, "test-small-firm-grant") is None
    import_text(seeded, tmp_path, NEW_RULE_MEASURE % 100, "add.yaml")
    assert verdict_of(seeded, "test-small-firm-grant").status == "eligible"
    import_text(seeded, tmp_path, NEW_RULE_MEASURE % 50, "tighten.yaml")
    verdict = verdict_of(seeded, "test-small-firm-grant")
    assert verdict.status == "not_eligible" and "30万元" in verdict.benefit


def test_two_knowledge_bases_in_one_process_do_not_share_held_measures(seeded, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    create_schema(engine)
    with seeded() as session:
        assert matching.measures_with_rules(session=session)
    with make_sessionmaker(engine)() as session:
        assert matching.measures_with_rules(session=session) == ()
    engine.dispose()


def test_two_knowledge_bases_in_one_process_do_not_share_an_answer_index(seeded, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    create_schema(engine)
    with seeded() as session:
        assert measures_asked_about("首台套奖励多少", session=session, today=TODAY)
        seeded_revision = latest_revision_id(session=session)
    with make_sessionmaker(engine).begin() as session:  # an empty KB at the same revision number
        session.add_all(Revision(author="测试", action="import") for _ in range(seeded_revision))
    with make_sessionmaker(engine)() as session:
        assert latest_revision_id(session=session) == seeded_revision
        assert measures_asked_about("首台套奖励多少", session=session, today=TODAY) == []
    engine.dispose()


LAPSED_MEASURES = """
measures:
  - id: test-yearly-award
    document: pe32-2023
    title: 年度测试奖励
    summary: 每年评一次的测试奖励。
    benefits:
      - {what: 测试奖励, amount: 20, unit: 万元}
    sources: [https://example.org/test-yearly-award]
    rule: {all: [{field: employees, op: le, value: 100}]}
    valid_to: 2025-12-31
    application_window: {recurs: yearly, note: 未找到：测试用，查过测试通知}
  - id: test-one-off-award
    document: pe32-2023
    title: 一次性测试奖励
    summary: 只办一次的测试奖励。
    benefits:
      - {what: 测试奖励, amount: 20, unit: 万元}
    sources: [https://example.org/test-one-off-award]
    rule: {all: [{field: employees, op: le, value: 100}]}
    valid_to: 2025-12-31
"""


def test_a_lapsed_yearly_programme_is_judged_on_its_latest_edition_and_says_so(seeded, tmp_path):
    import_text(seeded, tmp_path, LAPSED_MEASURES, "lapsed.yaml")
    yearly = verdict_of(seeded, "test-yearly-award")
    assert yearly.status == "eligible" and "以新通知为准" in yearly.title and str(TODAY.year) in yearly.title
    assert verdict_of(seeded, "test-one-off-award") is None  # lapsed and not yearly: no longer a verdict


def test_a_window_recurring_other_than_yearly_is_rejected(seeded, tmp_path):
    with pytest.raises(ValidationFailed, match="recurs"):
        import_text(seeded, tmp_path, LAPSED_MEASURES.replace("recurs: yearly", "recurs: sometimes"), "bad.yaml")
