"""Admin imports: validate everything, write in one transaction, record a revision; roll back exactly."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kb.admin.importer import apply_import, parse_import, read_import, retrain_terms
from kb.admin.revisions import rollback
from kb.errors import ValidationFailed
from kb.store.exporter import export_data
from kb.store.locking import lock_for_change
from kb.store.models import Measure, Revision

NEW_MEASURE = """
measures:
  - id: admin-overseas-warehouse
    document: pe32-2023
    title: 跨境电商海外仓建设补助
    summary: 对新建公共海外仓的企业给予一次性补助。
    benefits:
      - {what: 海外仓建设补助, amount: 50, unit: 万元}
    department: 省商务厅
    keywords: [海外仓]
    sources: [https://example.org/haiwaicang]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def export_bytes(sessions) -> bytes:
    with sessions() as session:
        return json.dumps(export_data(session), ensure_ascii=False, indent=2, sort_keys=True).encode()


def do_import(sessions, path: Path, *, dry_run: bool = False, author: str = "王芳"):
    plan = read_import(path)
    with sessions.begin() as session:
        return apply_import(session, plan, author=author, dry_run=dry_run)


def test_a_new_measure_is_added_with_origin_admin_and_a_revision_saying_who_and_what(seeded, tmp_path):
    result = do_import(seeded, write(tmp_path, "new.yaml", NEW_MEASURE))
    with seeded() as session:
        measure = session.get(Measure, "admin-overseas-warehouse")
        revision = session.get(Revision, result.revision_id)
        assert measure.origin == "admin" and measure.document.id == "pe32-2023"
        assert revision.author == "王芳" and revision.action == "import"
        assert revision.changes["added"] == ["admin-overseas-warehouse"]
        assert revision.snapshot == export_data(session)


def test_a_dry_run_shows_the_diff_and_writes_nothing(seeded, tmp_path):
    before = export_bytes(seeded)
    result = do_import(seeded, write(tmp_path, "new.yaml", NEW_MEASURE), dry_run=True)
    assert result.diff["measures"]["added"] == ["admin-overseas-warehouse"] and result.revision_id is None
    assert export_bytes(seeded) == before


def test_an_import_is_a_partial_update_that_may_change_a_seed_row_and_keeps_everything_else(seeded, tmp_path):
    with seeded() as session:
        record = next(m for m in export_data(session)["measures"] if m["benefits"] and m["benefits"][0]["amount"])
        count = len(export_data(session)["measures"])
    record["benefits"][0]["amount"] = record["benefits"][0]["amount"] + 1
    result = do_import(seeded, write(tmp_path, "one.json", json.dumps({"measures": [record]}, ensure_ascii=False)))
    assert list(result.diff["measures"]["changed"]) == [record["id"]]
    assert list(result.diff["measures"]["changed"][record["id"]]) == ["benefits"]
    with seeded() as session:
        after = export_data(session)
    assert len(after["measures"]) == count
    assert next(m for m in after["measures"] if m["id"] == record["id"])["origin"] == "seed"


def test_removal_must_be_explicit_and_names_a_missing_id(seeded, tmp_path):
    do_import(seeded, write(tmp_path, "new.yaml", NEW_MEASURE))
    result = do_import(seeded, write(tmp_path, "rm.yaml", "remove: {measures: [admin-overseas-warehouse]}\n"))
    assert result.diff["measures"]["removed"] == ["admin-overseas-warehouse"]
    with pytest.raises(ValidationFailed) as caught:
        do_import(seeded, write(tmp_path, "rm2.yaml", "remove: {measures: [no-such-measure]}\n"))
    assert str(caught.value.errors[0]) == "rm2.yaml, remove.measures[0]: no measure with id 'no-such-measure' to remove"


def test_an_export_imported_back_changes_nothing(seeded, tmp_path):
    with seeded() as session:
        data = export_data(session)
    result = do_import(seeded, write(tmp_path, "export.json", json.dumps(data, ensure_ascii=False)))
    assert result.unchanged and result.revision_id is None


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("text in a number", "amount: 50", "amount: 五十万元以内",
         "bad.yaml, measures[0] (id=admin-overseas-warehouse).benefits[0].amount: not a number: '五十万元以内'"),
        ("missing source", "    sources: [https://example.org/haiwaicang]\n", "",
         "bad.yaml, measures[0] (id=admin-overseas-warehouse).sources: missing: every entry needs at least one source URL"),
        ("unknown document", "document: pe32-2023", "document: pe99",
         "bad.yaml, measures[0] (id=admin-overseas-warehouse).document: no document with id 'pe99'"),
        ("rule on an unknown field", "    keywords: [海外仓]\n",
         "    keywords: [海外仓]\n    rule: {field: warehouse_area, op: ge, value: 1000}\n",
         "bad.yaml, measures[0] (id=admin-overseas-warehouse).rule.field: 未知的企业信息字段 'warehouse_area'"),
        ("duplicate id", "    sources: [https://example.org/haiwaicang]\n",
         "    sources: [https://example.org/haiwaicang]\n  - id: admin-overseas-warehouse\n    document: pe32-2023\n"
         "    title: 又一条\n    summary: 重复。\n    sources: [https://example.org/x]\n",
         "bad.yaml, measures[1] (id=admin-overseas-warehouse).id: duplicate measure id 'admin-overseas-warehouse'"),
    ],
)
def test_bad_yaml_is_rejected_by_file_and_key_and_the_export_stays_byte_identical(seeded, tmp_path, name, old, new, expected):
    before = export_bytes(seeded)
    text = textwrap.dedent(NEW_MEASURE)
    assert old in text, name
    with pytest.raises(ValidationFailed) as caught:
        do_import(seeded, write(tmp_path, "bad.yaml", text.replace(old, new)))
    found = [str(e) for e in caught.value.errors]
    assert any(p.startswith(expected) for p in found), found
    assert export_bytes(seeded) == before


def test_an_unknown_family_is_rejected_and_nothing_changes(seeded, tmp_path):
    before = export_bytes(seeded)
    text = NEW_MEASURE.replace("measures:", """documents:
  - id: bj-2026
    family: beijing_policy
    edition: "2026"
    title: 北京政策
    summary: 不是浙江的。
    sources: [https://example.org/bj]
measures:""")
    with pytest.raises(ValidationFailed) as caught:
        do_import(seeded, write(tmp_path, "bad.yaml", text))
    assert "bad.yaml, documents[0] (id=bj-2026).family: unknown family 'beijing_policy'" in str(caught.value)
    assert export_bytes(seeded) == before


def test_firms_are_imported_with_checked_facts(seeded, tmp_path):
    good = """
    firms:
      - credit_code: 91330000MA27U00L8F
        name: 杭州测试科技有限公司
        facts: {region: 杭州市滨江区, employees: 120, revenue: 6800, certifications: [高新技术企业]}
    """
    from kb.eligibility.firms import check_digit

    code = "91330000MA27U00L8" + check_digit("91330000MA27U00L8")
    do_import(seeded, write(tmp_path, "firms.yaml", good.replace("91330000MA27U00L8F", code)))
    with seeded() as session:
        assert export_data(session)["firms"][0]["facts"]["employees"] == 120
    bad = good.replace("91330000MA27U00L8F", code).replace("employees: 120", "employees: 一百多")
    with pytest.raises(ValidationFailed) as caught:
        do_import(seeded, write(tmp_path, "bad.yaml", bad))
    assert f"bad.yaml, firms[0] (credit_code={code}).facts.employees:" in str(caught.value)


def test_rollback_restores_exactly_the_earlier_export_as_a_new_revision(seeded, tmp_path):
    with seeded() as session:
        first = session.execute(Revision.__table__.select()).first().id
    before = export_bytes(seeded)
    do_import(seeded, write(tmp_path, "new.yaml", NEW_MEASURE))
    with seeded() as session:
        record = export_data(session)["measures"][0]
    record["title"] = "改过的标题"
    do_import(seeded, write(tmp_path, "edit.json", json.dumps({"measures": [record]}, ensure_ascii=False)))
    assert export_bytes(seeded) != before
    with seeded.begin() as session:
        result = rollback(session, first, author="王芳")
    assert export_bytes(seeded) == before
    with seeded() as session:
        revision = session.get(Revision, result.revision_id)
        assert revision.action == "rollback" and revision.id > first
        assert revision.changes["removed"] == ["admin-overseas-warehouse"]


def test_two_imports_at_the_same_time_run_one_after_the_other(seeded, tmp_path):
    """The second import waits for the first one's lock; both land, each with its own revision."""
    plans = [parse_import(NEW_MEASURE.replace("admin-overseas-warehouse", f"admin-{i}").encode(), f"f{i}.yaml")
             for i in range(2)]
    events: list[str] = []
    holding = threading.Event()

    def slow_first() -> None:
        with seeded.begin() as session:
            lock_for_change(session)
            holding.set()
            events.append("first locked")
            time.sleep(1.0)
            apply_import(session, plans[0], author="a")
            events.append("first done")

    def second() -> None:
        holding.wait()
        with seeded.begin() as session:
            apply_import(session, plans[1], author="b")
            events.append("second done")

    threads = [threading.Thread(target=slow_first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert events == ["first locked", "first done", "second done"]
    with seeded() as session:
        ids = {m["id"] for m in export_data(session)["measures"]}
        actions = [r.action for r in session.execute(Revision.__table__.select().order_by(Revision.id)).all()]
    assert {"admin-0", "admin-1"} <= ids and actions[-2:] == ["import", "import"]


def test_new_keywords_the_nlu_lacks_suggest_retraining():
    before = {"documents": [], "measures": [{"keywords": ["首台套"]}]}
    after = {"documents": [{"short_name": "海外仓新政", "aliases": []}], "measures": [{"keywords": ["首台套", "海外仓"]}]}
    assert retrain_terms(before, after, vocabulary={"首台套"}) == ("海外仓", "海外仓新政")
    assert retrain_terms(after, after, vocabulary=set()) == ()
