"""The seed loader validates everything first and writes all or nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kb.errors import ValidationFailed
from kb.store.exporter import export_data
from kb.store.loader import load_seed, read_seed, seed_files
from kb.store.models import Measure

PROJECT_ROOT = Path(__file__).resolve().parents[2]

GOOD = """
documents:
  - id: doc-a
    family: private_economy_32
    edition: "2023"
    title: 测试文件
    summary: 测试用的政策文件。
    published: 2023-08-25
    sources: [https://example.org/doc-a]
measures:
  - id: m-1
    document: doc-a
    number: 1
    title: 测试措施一
    summary: 一条测试措施。
    benefits:
      - {what: 奖励, amount: 200, unit: 万元}
    sources: [https://example.org/m-1]
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(paths) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        read_seed(paths)
    return [str(error) for error in caught.value.errors]


def test_the_curated_seed_is_valid_and_every_entry_has_a_source(seeded):
    with seeded() as session:
        data = export_data(session)
    assert len(data["documents"]) >= 3
    assert {d["family"] for d in data["documents"]} >= {"private_economy_32", "eight_plus_four", "shuangjian_shuangling"}
    assert len(data["measures"]) >= 10
    for item in data["documents"] + data["measures"]:
        assert item["sources"] and all(url.startswith(("http://", "https://")) for url in item["sources"]), item["id"]


def test_every_figure_in_the_seed_has_a_unit(seed_data):
    for measure in seed_data.measures.values():
        for benefit in measure["benefits"]:
            if benefit["amount"] is not None:
                assert benefit["unit"], (measure["id"], benefit)


def test_a_missing_source_is_named_by_file_and_key(tmp_path):
    path = write(tmp_path, "bad.yaml", GOOD.replace("    sources: [https://example.org/m-1]\n", ""))
    assert problems([path]) == [
        "bad.yaml, measures[0] (id=m-1).sources: missing: every entry needs at least one source URL"
    ]


def test_a_duplicate_id_names_both_files(tmp_path):
    first = write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", GOOD.split("measures:")[1].join(["measures:", ""]))
    assert problems([first, second]) == [
        "b.yaml, measures[0] (id=m-1).id: duplicate measure id 'm-1' (first defined in a.yaml)"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("family: private_economy_32", "family: beijing_policy", "documents[0] (id=doc-a).family: unknown family 'beijing_policy'"),
        ("amount: 200", "amount: 五十万元以内", "measures[0] (id=m-1).benefits[0].amount: not a number: '五十万元以内'"),
        ("amount: 200, unit: 万元", "amount: 200", "measures[0] (id=m-1).benefits[0].unit: missing: an amount needs its unit"),
        ("published: 2023-08-25", "published: 2023年8月", "documents[0] (id=doc-a).published: not a date (YYYY-MM-DD): '2023年8月'"),
        ("document: doc-a", "document: doc-zz", "measures[0] (id=m-1).document: no document with id 'doc-zz'"),
        ("number: 1", "number: 第一条", "measures[0] (id=m-1).number: not an article number: '第一条'"),
        ("title: 测试措施一", "titel: 测试措施一", "measures[0] (id=m-1).titel: unknown key"),
        ("[https://example.org/m-1]", "[example.org/m-1]", "measures[0] (id=m-1).sources: not an http(s) URL: 'example.org/m-1'"),
    ],
)
def test_each_kind_of_bad_input_is_named(tmp_path, old, new, expected):
    path = write(tmp_path, "bad.yaml", GOOD.replace(old, new))
    found = problems([path])
    assert any(p.startswith(f"bad.yaml, {expected}") for p in found), found


def test_broken_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "broken.yaml", GOOD + "  - id: [unclosed\n")
    assert problems([path])[0].startswith("broken.yaml, line ")


def test_a_bad_file_changes_nothing(seeded, tmp_path):
    with seeded() as session:
        before = export_data(session)
    good = write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "bad.yaml", GOOD.replace("doc-a", "doc-b").replace("m-1", "m-2").replace("    sources: [https://example.org/m-2]\n", ""))
    with pytest.raises(ValidationFailed):
        read_seed([good, bad])
    with seeded() as session:
        assert export_data(session) == before


def test_loading_the_same_seed_twice_writes_one_revision(sessions, tmp_path):
    data = read_seed([write(tmp_path, "a.yaml", GOOD)])
    with sessions.begin() as session:
        first = load_seed(session, data)
    with sessions.begin() as session:
        second = load_seed(session, data)
    assert first.added == ["doc-a", "m-1"] and first.revision_id == 1
    assert second.unchanged


def test_a_changed_seed_reports_what_changed_and_removed(sessions, tmp_path):
    with sessions.begin() as session:
        load_seed(session, read_seed([write(tmp_path / "v1", "a.yaml", GOOD)]))
    changed = GOOD.replace("amount: 200", "amount: 300").replace("  - id: m-1", "  - id: m-9")
    with sessions.begin() as session:
        result = load_seed(session, read_seed([write(tmp_path / "v2", "a.yaml", changed)]))
    assert result.added == ["m-9"]
    assert result.removed == ["m-1"]
    with sessions() as session:
        assert session.get(Measure, "m-9").benefits[0]["amount"] == 300


def test_measures_added_by_admins_survive_a_seed_reload(sessions, tmp_path):
    with sessions.begin() as session:
        load_seed(session, read_seed([write(tmp_path / "v1", "a.yaml", GOOD)]))
        session.add(Measure(id="admin-1", document_id="doc-a", title="管理员新增", summary="x", origin="admin"))
    with sessions.begin() as session:
        load_seed(session, read_seed([write(tmp_path / "v2", "a.yaml", GOOD.replace("测试措施一", "改名"))]))
    with sessions() as session:
        assert session.get(Measure, "admin-1") is not None


def run_huiqi(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("huiqi")), *args],
        cwd=PROJECT_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )


def test_make_run_stops_on_a_bad_seed_and_leaves_the_database_as_it_was(tmp_path, db_url):
    env = {"HUIQI_DB_URL": db_url, "HUIQI_VAR_DIR": str(tmp_path / "var")}
    assert run_huiqi("kb", "load", env=env).returncode == 0
    before = run_huiqi("kb", "export", "--format", "json", env=env).stdout

    bad_dir = tmp_path / "bad-seed"
    for path in seed_files():
        write(bad_dir, path.name, path.read_text(encoding="utf-8"))
    write(bad_dir, "zz-duplicate.yaml", (bad_dir / "private_economy_32.yaml").read_text(encoding="utf-8"))

    # `huiqi run` is what `make run` calls; it must stop before starting any server.
    result = run_huiqi("run", env={**env, "HUIQI_SEED_DIR": str(bad_dir)})
    assert result.returncode == 2
    assert "zz-duplicate.yaml, documents[0] (id=pe32-2023).id: duplicate document id 'pe32-2023'" in result.stderr
    assert "知识库未改动" in result.stderr
    assert "Rasa REST" not in result.stdout
    assert run_huiqi("kb", "export", "--format", "json", env=env).stdout == before
    assert json.loads(before)["measures"]


def test_dates_inside_free_form_structure_are_stored_as_text(sessions, tmp_path):
    text = GOOD.replace("    published: 2023-08-25\n", "    published: 2023-08-25\n    structure: {press_conference: 2023-08-28}\n")
    with sessions.begin() as session:
        load_seed(session, read_seed([write(tmp_path, "a.yaml", text)]))
    with sessions() as session:
        assert export_data(session)["documents"][0]["structure"] == {"press_conference": "2023-08-28"}


def test_a_yaml_key_read_as_a_boolean_is_rejected(tmp_path):
    text = GOOD.replace("    published: 2023-08-25\n", "    published: 2023-08-25\n    structure: {aspects: [{no: 1, name: 提信心增预期}]}\n")
    found = problems([write(tmp_path, "bad.yaml", text)])
    assert any("structure.aspects[0].False: a key must be text" in p for p in found), found


def test_stats_report_every_family_edition_the_sourcing_and_the_gaps(tmp_path, db_url):
    env = {"HUIQI_DB_URL": db_url, "HUIQI_VAR_DIR": str(tmp_path / "var")}
    assert run_huiqi("kb", "load", env=env).returncode == 0
    stats = run_huiqi("kb", "stats", env=env).stdout
    for family in ("private_economy_32", "eight_plus_four", "shuangjian_shuangling", "firm_category"):
        assert f"  {family}: " in stats
    eight_plus_four = stats.split("  eight_plus_four: ")[1].split("\n  firm_category")[0]
    assert all(f"      {year}: " in eight_plus_four for year in ("2022", "2023", "2024", "2025", "2026"))
    assert "（100%）" in stats
    assert "置信度：high " in stats and "已知缺口" in stats and "第5-32条原文" in stats
