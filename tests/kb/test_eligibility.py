"""The eligibility engine's Python API: next question, rule checking, rulebook data, formatting.

Threshold and three-valued cases are in tests/kb/eligibility_cases/*.yaml (collected by conftest.py).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kb.eligibility import (
    FactsError,
    RuleError,
    Status,
    evaluate,
    evaluate_all,
    evaluate_category,
    explain,
    format_money,
    next_question,
)
from kb.eligibility.rulebook import check_rule, default_rulebook, load_rulebook
from kb.errors import ValidationFailed

ON = dt.date(2025, 6, 1)

MOUNTAIN_SMALL = ("mountain_small", {"all": [{"category": "山区海岛县企业"}, {"field": "employees", "op": "le", "value": 300}]})
MOUNTAIN_MAKER = ("mountain_maker", {"all": [{"category": "山区海岛县企业"},
                                             {"field": "industry", "op": "in_group", "value": "制造业"}]})
SMALL_PROFIT = ("small_profit", {"category": "小型微利企业"})
BIG_EMPLOYER = ("big_employer", {"field": "employees", "op": "ge", "value": 100})
MEASURES = [MOUNTAIN_SMALL, MOUNTAIN_MAKER, SMALL_PROFIT, BIG_EMPLOYER]


# --- next question ---------------------------------------------------------------------------------


def test_next_question_asks_the_field_that_decides_the_most_measures():
    # employees is undecided in 3 measures, region in 2, the rest in 1.
    assert next_question(MEASURES, {}, on=ON).name == "employees"


def test_next_question_breaks_a_tie_with_the_easier_field():
    # region and employees both decide 2 measures; region is easier to answer.
    measures = [MOUNTAIN_SMALL, MOUNTAIN_MAKER, SMALL_PROFIT]
    assert next_question(measures, {}, on=ON).name == "region"


def test_a_field_counts_once_for_a_rule_that_names_it_twice():
    # The title is both an undecided condition and a holdable one in each of two rules; revenue decides three.
    titled = [(f"titled_{i}", {"any": [{"field": "certifications", "op": "holds", "value": "高新技术企业"},
                                       {"field": "certifications", "op": "contains", "value": "科技型中小企业"}]})
              for i in range(2)]
    sized = [(f"sized_{i}", {"field": "revenue", "op": "ge", "value": 1000 * (i + 1)}) for i in range(3)]
    assert next_question([*titled, *sized], {}, on=ON).name == "revenue"


def test_titles_are_asked_after_the_deciding_figures_and_when_a_title_held_for_a_term_would_overturn():
    titled = ("titled", {"any": [{"field": "certifications", "op": "holds", "value": "高新技术企业"},
                                 {"all": [{"field": "entity_type", "op": "eq", "value": "企业"},
                                          {"field": "revenue", "op": "ge", "value": 1000}]}]})
    # The figure that decides comes before the titles held: a firm describing itself is asked its revenue first.
    assert next_question([titled], {}, on=ON).name == "revenue"
    assert next_question([titled], {"revenue": 3000, "entity_type": "企业"}, on=ON) is None
    # Asked about this title alone, a firm whose figure fails is told so; asking what it can get, it may hold the
    # title from an earlier year (held for a term), which would overturn the failure: then it is asked.
    assert next_question([titled], {"revenue": 300, "entity_type": "企业"}, on=ON) is None
    other = ("other", {"field": "employees", "op": "le", "value": 300})
    assert next_question([titled, other], {"revenue": 300, "entity_type": "企业", "employees": 80},
                         on=ON).name == "certifications"
    # A title judged anew each year on the same figures cannot be held by a firm that fails them: no question.
    yearly = ("yearly", {"any": [{"field": "certifications", "op": "holds", "value": "科技型中小企业"},
                                 {"field": "employees", "op": "le", "value": 500}]})
    assert next_question([yearly], {}, on=ON).name == "employees"
    assert next_question([yearly, other], {"employees": 800}, on=ON) is None
    # A mandatory condition fails: no title it could hold would change that.
    firms_only = ("firms_only", {"all": [{"field": "entity_type", "op": "eq", "value": "企业"}, titled[1]]})
    assert next_question([firms_only], {"entity_type": "个体工商户"}, on=ON) is None


def test_a_benefit_that_needs_a_title_asks_for_it_while_only_the_title_fails():
    needs = ("needs", {"all": [{"field": "certifications", "op": "holds", "value": "省首台（套）产品"},
                               {"field": "revenue", "op": "ge", "value": 1000}]})
    assert next_question([needs], {}, on=ON).name == "certifications"
    assert next_question([needs], {"revenue": 3000}, on=ON).name == "certifications"
    # The figure fails as well: holding the title would not change the verdict.
    assert next_question([needs], {"revenue": 300}, on=ON) is None


def test_next_question_skips_fields_the_firm_could_not_answer():
    assert next_question(MEASURES, {}, on=ON, exclude={"employees"}).name == "region"


def test_next_question_ignores_fields_of_measures_already_decided():
    # 350 staff: small_profit fails and big_employer is met, so their other fields no longer matter.
    facts = {"employees": 350}
    assert next_question([SMALL_PROFIT, BIG_EMPLOYER], facts, on=ON) is None
    assert next_question(MEASURES, facts, on=ON).name == "region"


def test_next_question_returns_none_once_every_measure_is_decided():
    facts = {"region": "杭州市滨江区", "employees": 350}
    verdicts = evaluate_all(MEASURES, facts, on=ON)
    assert [v.status for v in verdicts] == [Status.NOT_ELIGIBLE, Status.NOT_ELIGIBLE, Status.NOT_ELIGIBLE,
                                            Status.ELIGIBLE]
    assert next_question(MEASURES, facts, on=ON) is None


def test_next_question_returns_none_when_only_excluded_fields_remain():
    facts = {"region": "丽水市遂昌县", "employees": 85, "industry": "金属制品"}
    assert next_question(MEASURES, facts, on=ON).name == "total_assets"  # easier than taxable_income
    assert next_question(MEASURES, facts, on=ON, exclude={"taxable_income", "total_assets"}) is None


def test_next_question_carries_the_question_to_ask():
    field = next_question([SMALL_PROFIT], {"employees": 120, "total_assets": 800, "industry": "金属制品"}, on=ON)
    assert field.name == "taxable_income"
    assert field.label == "年度应纳税所得额"
    assert "应纳税所得额" in field.question


def test_next_question_walks_a_firm_to_a_full_answer():
    truth = {"region": "丽水市遂昌县", "employees": 85, "industry": "金属制品", "taxable_income": 120,
             "total_assets": 3000}
    facts: dict = {}
    asked = []
    while (field := next_question(MEASURES, facts, on=ON)) is not None:
        asked.append(field.name)
        facts[field.name] = truth[field.name]
    assert asked == ["employees", "region", "industry", "total_assets", "taxable_income"]
    assert [v.status for v in evaluate_all(MEASURES, facts, on=ON)] == [
        Status.ELIGIBLE, Status.ELIGIBLE, Status.ELIGIBLE, Status.NOT_ELIGIBLE]


# --- verdicts --------------------------------------------------------------------------------------


def test_verdict_names_the_measure_and_the_fields_still_needed():
    verdict = evaluate_all([SMALL_PROFIT], {"employees": 120, "industry": "印刷"}, on=ON)[0]
    assert verdict.measure_id == "small_profit"
    assert verdict.status is Status.UNKNOWN
    assert verdict.undecided_fields == ("taxable_income", "total_assets")


@pytest.mark.parametrize("entity, status", [("有限责任公司", Status.ELIGIBLE), ("股份有限公司", Status.ELIGIBLE),
                                            ("分公司", Status.NOT_ELIGIBLE), ("个体工商户", Status.NOT_ELIGIBLE)])
def test_a_finer_entity_type_meets_a_rule_on_its_broad_type(entity, status):
    # Rules speak of 企业; a firm names its own type, and a branch is no legal person of its own.
    company_rule = ("company", {"field": "entity_type", "op": "eq", "value": "企业"})
    assert evaluate_all([company_rule], {"entity_type": entity}, on=ON)[0].status is status


def test_a_finer_entity_type_is_inside_a_list_of_broad_types():
    not_a_company = ("partners", {"field": "entity_type", "op": "not_in", "value": ["合伙企业", "个人独资企业"]})
    assert evaluate_all([not_a_company], {"entity_type": "有限合伙企业"}, on=ON)[0].status is Status.NOT_ELIGIBLE
    assert evaluate_all([not_a_company], {"entity_type": "外商独资企业"}, on=ON)[0].status is Status.ELIGIBLE


def test_findings_inside_a_category_cite_the_category_and_its_clause():
    verdict = evaluate_category("小型微利企业", {"taxable_income": 300.01}, on=ON)
    [finding] = verdict.failed
    assert finding.category == "小型微利企业"
    assert finding.explanation == "年度应纳税所得额不超过300万元"
    assert "300万元" in finding.ref


def test_rd_ratio_is_derived_from_rd_expense_once_revenue_is_known():
    without_revenue = evaluate_category("高企研发费用比例", {"rd_expense": 300}, on=ON)
    assert without_revenue.status is Status.UNKNOWN
    with_revenue = evaluate_category("高企研发费用比例", {"rd_expense": 300, "revenue": 6000}, on=ON)
    assert with_revenue.status is Status.ELIGIBLE


def test_a_measure_without_a_rule_states_no_conditions():
    verdict = evaluate(None, {}, on=ON)
    assert verdict.status is Status.ELIGIBLE
    assert verdict.met == verdict.failed == verdict.undecided == ()


@pytest.mark.parametrize(("facts", "field"), [
    ({"employees": "85人"}, "employees"), ({"region": "遂昌"}, "region"), ({"certifications": "高企"}, "certifications"),
    ({"certifications": ["高企"]}, "certifications"), ({"revenue": True}, "revenue"),
])
def test_facts_must_be_parsed_values_not_raw_text(facts, field):
    with pytest.raises(FactsError, match=f"facts.{field}"):
        evaluate(SMALL_PROFIT[1], facts, on=ON)


# --- rule checking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "expected"), [
    ({"field": "employees", "op": "le", "value": 300}, []),
    ({"field": "employee", "op": "le", "value": 300}, ["rule.field: 未知的企业信息字段 'employee'"]),
    ({"all": [{"field": "employees", "op": "lte", "value": 300}]}, ["rule.all[0].op: 未知的运算 'lte'"]),
    ({"field": "rd_ratio", "op": "ge", "value": 5}, ["rule.value: 比例按小数写"]),
    ({"field": "employees", "op": "between", "value": [300, 20]}, ["rule.value: 下限 300 大于上限 20"]),
    ({"field": "region", "op": "in_group", "value": "山区27县"}, ["rule.value: 未知的分组 '山区27县'"]),
    ({"field": "region", "op": "in_group", "value": "制造业"}, ["rule.value: 分组“制造业”是industry分组"]),
    ({"field": "region", "op": "eq", "value": "遂昌"}, ["rule.value: “遂昌”不在region的标准取值里"]),
    ({"any": [{"category": "小微企业"}]}, ["rule.any[0].category: 未知的类别 '小微企业'"]),
    ({"field": "employees", "op": "le", "value": 300, "explian": "x"}, ["rule.explian: 未知的键"]),
    ({"all": [], "any": []}, ["rule: 应正好有 all、any、not、category、field 之一"]),
    ({"not": {"all": []}}, ["rule.not.all: 应是非空列表"]),
    ({"field": "industry", "op": "contains", "value": "金属制品"}, ["rule.op: contains 只用于资质"]),
    ({"field": "region", "op": "eq", "value": "杭州市滨江区", "as_of": dt.date(2023, 1, 1)},
     ["rule.as_of: 只用于 in_group"]),
])
def test_check_rule_names_each_problem_by_its_key_path(rule, expected):
    problems = check_rule(rule)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem


def test_evaluating_a_broken_rule_raises_with_the_measure_and_path():
    with pytest.raises(RuleError) as caught:
        evaluate_all([("m7", {"all": [{"field": "employees", "op": "lte", "value": 1}]})], {}, on=ON)
    assert str(caught.value).startswith("m7: rule.all[0].op")


# --- rule data -------------------------------------------------------------------------------------


def test_every_shipped_category_cites_source_urls_and_every_condition_a_clause():
    book = default_rulebook()
    assert {"小型微利企业", "规上工业企业", "高企研发费用比例", "山区海岛县企业"} <= set(book.categories)
    for category in book.categories.values():
        assert category.sources and all(url.startswith("http") for url in category.sources), category.name
        assert category.ref


def test_mountain_county_group_has_26_then_25_members():
    book = default_rulebook()
    before = book.members("山区26县", dt.date(2024, 7, 31))
    after = book.members("山区26县", dt.date(2024, 8, 1))
    assert (len(before), len(after)) == (26, 25)
    assert before - after == {"温州市平阳县", "衢州市柯城区", "丽水市莲都区"}
    assert after - before == {"温州市洞头区", "舟山市嵊泗县"}
    assert book.label("山区26县", dt.date(2025, 1, 1)) == "山区海岛25县"


def test_a_bad_rules_directory_is_rejected_naming_file_and_key(tmp_path: Path):
    (tmp_path / "groups.yaml").write_text(textwrap.dedent("""\
        山区26县:
          kind: region
          colour: green
          versions:
            - members: [温州市平阳, 丽水市遂昌县]
            - members: [丽水市遂昌县]
        """), encoding="utf-8")
    (tmp_path / "categories.yaml").write_text(textwrap.dedent("""\
        小型微利企业:
          ref: x
          sources: [http://example.org]
          rule: {field: employees, op: le, value: 三百}
        无来源:
          ref: y
          rule: {category: 无来源}
        """), encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_rulebook(tmp_path)
    messages = [str(error) for error in caught.value.errors]
    assert "groups.yaml, 山区26县.colour: 未知的键（可用 aliases, description, kind, note, reference, sources, versions）" \
        in messages
    assert any(m.startswith("groups.yaml, 山区26县.versions[0].members[0]: “温州市平阳”") for m in messages)
    assert "groups.yaml, 山区26县.versions[1].from: 除第一个版本外，每个版本都要写生效日期" in messages
    assert any(m.startswith("categories.yaml, 小型微利企业.rule.value: '三百' 不是数") for m in messages)
    assert any(m.startswith("categories.yaml, 无来源.sources: 缺少") for m in messages)
    assert "categories.yaml, 无来源.rule: 类别循环引用：无来源 → 无来源" in messages


def test_case_files_with_unknown_keys_are_rejected(tmp_path: Path, case_reader):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: 例子, date: 2025-01-01, facts: {}, category: 小型微利企业, status: eligible, "
                   "expect: eligible}\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad.yaml → 例子: unknown key\(s\) \['expect'\]") as caught:
        case_reader(bad)  # the collector's own reader, used here on a bad file
    assert type(caught.value).__name__ == "CaseFileError"


# --- explanations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("wan", "text"), [
    (300, "300万元"), (300.01, "300.01万元"), (5000, "5000万元"), (20000, "2亿元"), (15000, "1.5亿元"),
    (0.5, "5000元"), (0, "0万元"),
])
def test_money_is_written_as_chinese_readers_write_it(wan, text):
    assert format_money(wan) == text


@pytest.mark.parametrize(("field", "op", "value", "text"), [
    ("employees", "le", 300, "员工人数不超过300人"),
    ("employees", "ge", 10, "员工人数不少于10人"),
    ("revenue", "ge", 2000, "上年营业收入不低于2000万元"),
    ("revenue", "gt", 20000, "上年营业收入超过2亿元"),
    ("rd_ratio", "ge", 0.03, "研发费用占营业收入比例不低于3%"),
    ("rd_ratio", "ge", 0.035, "研发费用占营业收入比例不低于3.5%"),
    ("total_assets", "lt", 5000, "资产总额低于5000万元"),
    ("region", "in_group", "山区26县", "位于山区26县"),
    ("region", "not_in_group", "山区26县", "不位于山区26县"),
    ("certifications", "contains", "高新技术企业", "已认定为高新技术企业"),
    ("ownership", "ne", "国有", "企业性质不是国有"),
])
def test_conditions_without_explain_get_a_generated_sentence(field, op, value, text):
    assert explain(field, op, value, on=dt.date(2024, 1, 1)) == text


def test_kb_engine_and_profile_import_no_rasa():
    code = "import sys, kb.eligibility, kb.eligibility.profile, kb.eligibility.rulebook, kb.eligibility.regions; " \
           "print([m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk')])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "[]"


def test_a_title_is_not_asked_when_no_title_held_would_change_the_verdict():
    # Holding a title is a condition of its own here: a failed figure fails the rule whatever the firm holds.
    both = ("both", {"all": [{"field": "revenue", "op": "ge", "value": 1000},
                             {"any": [{"field": "certifications", "op": "holds", "value": "科技型中小企业"},
                                      {"unencoded": "评价得分", "explain": "评价得分60分以上"}]}]})
    assert next_question([both], {}, on=ON).name == "revenue"
    assert next_question([both], {"revenue": 3000}, on=ON).name == "certifications"
    assert next_question([both], {"revenue": 300}, on=ON) is None
