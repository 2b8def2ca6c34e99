"""政策找企业: a measure with a new or changed rule is matched over the firm registry after the commit.

Results are stored by revision; a failure is logged and stored, and never undoes the change.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kb.admin.importer import apply_import, read_import
from kb.admin.revisions import rollback
from kb.eligibility import matches
from kb.eligibility.firms import CREDIT_CODE_CHARS, check_digit
from kb.eligibility.service import measures_with_rules
from kb.store.models import FirmMatch, MatchRun, Measure


def credit_code(rng: random.Random) -> str:
    """A fresh, valid unified social credit code (GB 32100-2015 check digit)."""
    first17 = "91330" + "".join(rng.choice(CREDIT_CODE_CHARS) for _ in range(12))
    return first17 + check_digit(first17)


@pytest.fixture
def codes() -> dict[str, str]:
    rng = random.Random()  # fresh codes each run: nothing depends on particular ones
    return {name: credit_code(rng) for name in ("small", "big", "unsaid")}


def firms_yaml(codes: dict[str, str], limit: int) -> str:
    # Three firms around a fresh threshold: under it, over it, and one that never said its headcount.
    return f"""
firms:
  - credit_code: {codes['small']}
    name: 测试小企业{limit}
    facts: {{employees: {limit - 3}, region: 丽水市遂昌县}}
  - credit_code: {codes['big']}
    name: 测试大企业{limit}
    facts: {{employees: {limit + 40}, region: 丽水市遂昌县}}
  - credit_code: {codes['unsaid']}
    name: 测试未填人数企业{limit}
    facts: {{region: 丽水市遂昌县}}
"""


def measure_yaml(measure_id: str, limit: int, *, title: str = "测试用小微企业补助") -> str:
    return f"""
measures:
  - id: {measure_id}
    document: pe32-2023
    title: {title}
    summary: 测试用措施。
    benefits:
      - {{what: 测试补助, amount: 30, unit: 万元}}
    keywords: [测试补助]
    sources: [https://example.org/{measure_id}]
    rule: {{all: [{{field: employees, op: le, value: {limit}, explain: 员工不超过{limit}人}}]}}
"""


def do_import(sessions, tmp_path: Path, name: str, text: str, **kwargs):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    plan = read_import(path)
    with sessions.begin() as session:
        return apply_import(session, plan, author="测试", **kwargs)


@pytest.fixture
def limit() -> int:
    return random.randint(20, 200)


def test_an_imported_measure_with_a_rule_lists_each_registered_firm_by_its_verdict(seeded, tmp_path, codes, limit):
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    result = do_import(seeded, tmp_path, "measure.yaml", measure_yaml("test-match-grant", limit))

    assert [run.measure_id for run in result.matches] == ["test-match-grant"]
    [run] = result.matches
    assert run.revision_id == result.revision_id and run.status == "done"
    assert run.counts == {"eligible": 1, "likely": 0, "not_eligible": 1, "unknown": 1}
    assert run.names == (f"测试小企业{limit}",)
    with seeded() as session:
        found = matches.matches_of("test-match-grant", session=session).as_dict()
    assert found["revision"] == result.revision_id and found["stored"] is True
    assert found["eligible"] == [{"credit_code": codes["small"], "name": f"测试小企业{limit}"}]
    assert found["not_eligible"] == [{"credit_code": codes["big"], "name": f"测试大企业{limit}"}]
    assert found["undecided"] == [{"credit_code": codes["unsaid"], "name": f"测试未填人数企业{limit}",
                                   "missing": ["employees"], "missing_labels": ["员工人数"]}]
    assert found["likely"] == []


def test_changing_the_rule_matches_again_and_keeps_only_the_latest_results(seeded, tmp_path, codes, limit):
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    first = do_import(seeded, tmp_path, "m1.yaml", measure_yaml("test-match-again", limit))
    second = do_import(seeded, tmp_path, "m2.yaml", measure_yaml("test-match-again", limit + 100))
    assert second.matches[0].counts["eligible"] == 2  # the big firm is under the raised threshold
    with seeded() as session:
        revisions = set(session.execute(select(FirmMatch.revision_id)
                                        .where(FirmMatch.measure_id == "test-match-again")).scalars())
        runs = session.execute(select(MatchRun.revision_id).where(MatchRun.measure_id == "test-match-again")
                               .order_by(MatchRun.id)).scalars().all()
    assert revisions == {second.revision_id}
    assert runs == [first.revision_id, second.revision_id]


def test_a_change_that_leaves_the_rule_alone_matches_nothing(seeded, tmp_path, codes, limit):
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    do_import(seeded, tmp_path, "m1.yaml", measure_yaml("test-match-same", limit))
    renamed = do_import(seeded, tmp_path, "m2.yaml", measure_yaml("test-match-same", limit, title="改了标题的测试补助"))
    assert renamed.revision_id is not None and renamed.matches == []


def test_a_dry_run_and_a_rolled_back_transaction_match_nothing(seeded, tmp_path, codes, limit):
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    dry = do_import(seeded, tmp_path, "m.yaml", measure_yaml("test-match-dry", limit), dry_run=True)
    assert dry.matches == []
    plan = read_import(tmp_path / "m.yaml")
    with pytest.raises(RuntimeError), seeded.begin() as session:
        apply_import(session, plan, author="测试")
        raise RuntimeError("the caller gives up before commit")
    with seeded() as session:
        assert session.execute(select(func.count()).select_from(MatchRun)
                               .where(MatchRun.measure_id == "test-match-dry")).scalar_one() == 0
        assert session.get(Measure, "test-match-dry") is None


def test_a_failing_match_is_logged_and_stored_and_the_import_still_stands(seeded, tmp_path, codes, limit,
                                                                          monkeypatch, caplog):
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))

    def broken(*args, **kwargs):
        raise OSError("disk full while matching")

    monkeypatch.setattr(matches, "match_registry", broken)
    with caplog.at_level(logging.ERROR, logger="kb.eligibility.matches"):
        result = do_import(seeded, tmp_path, "m.yaml", measure_yaml("test-match-broken", limit))
    assert "matching revision" in caplog.text
    with seeded() as session:
        assert session.get(Measure, "test-match-broken") is not None
        failed = matches.failed_runs(session=session)
    assert [(f["measure_id"], f["what"], f["revision"]) for f in failed] == [
        ("test-match-broken", "match", result.revision_id)]
    assert "disk full while matching" in failed[0]["error"]


def test_a_rollback_matches_the_measures_whose_rules_it_restores(seeded, tmp_path, codes, limit):
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    first = do_import(seeded, tmp_path, "m1.yaml", measure_yaml("test-match-rollback", limit))
    do_import(seeded, tmp_path, "m2.yaml", measure_yaml("test-match-rollback", limit + 100))
    with seeded.begin() as session:
        back = rollback(session, first.revision_id, author="测试")
    assert [run.measure_id for run in back.matches] == ["test-match-rollback"]
    assert back.matches[0].counts["eligible"] == 1
    assert back.as_dict()["matches"][0]["revision"] == back.revision_id


def test_listeners_hear_of_each_change_once_with_counts_and_names_only(seeded, tmp_path, codes, limit):
    heard = []

    def listener(bind, summaries):
        heard.append(list(summaries))

    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    matches.add_listener(listener)
    try:
        do_import(seeded, tmp_path, "m.yaml", measure_yaml("test-match-heard", limit))
    finally:
        matches.remove_listener(listener)
    [[summary]] = heard
    assert summary.measure_id == "test-match-heard" and summary.benefit == "测试补助：30万元"
    assert not hasattr(summary, "facts")


def test_a_measure_never_matched_is_judged_on_request_without_storing(seeded, tmp_path, codes, limit):
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    with seeded() as session:
        seeded_rule = measures_with_rules(session=session)[0]
        found = matches.matches_of(seeded_rule.measure_id, session=session, today=dt.date(2026, 6, 1)).as_dict()
        assert found["stored"] is False and found["firms"] == 3
        assert sum(found["counts"].values()) == 3
        assert matches.count_rows(session=session) == 0
        with pytest.raises(matches.MatchNotFound):
            matches.matches_of("no-such-measure", session=session)


def test_a_measure_is_found_by_id_or_by_part_of_its_title(seeded, tmp_path, codes, limit):
    do_import(seeded, tmp_path, "m.yaml", measure_yaml("test-match-find", limit, title="测试用海岛渔业补助"))
    with seeded() as session:
        assert matches.find_measure("test-match-find", session=session) == ("test-match-find", [])
        assert matches.find_measure("海岛渔业", session=session) == ("test-match-find", [])
        assert matches.find_measure("没有这种补助", session=session) == (None, [])


def test_the_excel_export_has_a_row_per_firm(seeded, tmp_path, codes, limit):
    from io import BytesIO

    from openpyxl import load_workbook

    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    do_import(seeded, tmp_path, "m.yaml", measure_yaml("test-match-xlsx", limit))
    with seeded() as session:
        body = matches.matches_of("test-match-xlsx", session=session).as_dict()
    sheet = load_workbook(BytesIO(matches.matches_workbook(body))).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[1], r[3]) for r in rows] == [("符合", codes["small"], None),
                                                  ("待补充信息", codes["unsaid"], "员工人数"),
                                                  ("不符合", codes["big"], None)]


def test_the_registry_judge_gives_exactly_the_verdicts_evaluate_all_gives(seeded):
    import sys

    from kb.eligibility import RegistryJudge, evaluate_all
    from kb.eligibility.regions import REGIONS

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.match_bench import synthetic_firms

    rng = random.Random()
    firms = synthetic_firms(400, rng)
    cities = sorted({city for city, _ in REGIONS.values()})
    for firm in firms[::7]:  # a city, not a county: conditions on counties decide only when all agree
        firm["facts"]["region"] = rng.choice(cities)
    with seeded() as session:
        pairs = [(m.measure_id, m.rule) for m in measures_with_rules(session=session)]
    today = dt.date(2026, 6, 1)
    judge = RegistryJudge(pairs, on=today)
    for firm in firms:
        assert judge.verdicts(firm["facts"]) == evaluate_all(pairs, firm["facts"], on=today), firm


def test_a_failure_midway_keeps_the_measures_already_stored_and_marks_the_rest_failed(seeded, tmp_path, codes, limit,
                                                                                     monkeypatch):
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    two = measure_yaml("test-match-first", limit) + measure_yaml("test-match-second", limit).split("measures:\n", 1)[1]
    original, calls = matches._store, []

    def store_once(*args, **kwargs):
        calls.append(args[2])
        if len(calls) > 1:
            raise OSError("the disk filled up after the first measure")
        return original(*args, **kwargs)

    monkeypatch.setattr(matches, "_store", store_once)
    result = do_import(seeded, tmp_path, "two.yaml", two)
    with seeded() as session:
        runs = {r.measure_id: r.status for r in session.execute(
            select(MatchRun).where(MatchRun.revision_id == result.revision_id)).scalars()}
        assert matches.matches_of("test-match-first", session=session).stored is True
    assert runs == {"test-match-first": "done", "test-match-second": "failed"}
