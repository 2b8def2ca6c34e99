"""Verdicts that never promise what a rule does not decide: likely, holds, tiers, hedged figures, cities."""

from __future__ import annotations

import datetime as dt

from kb.eligibility import Status, evaluate

ON = dt.date(2026, 6, 1)
TIERS = {"any": [
    {"all": [{"field": "revenue", "op": "le", "value": 5000, "explain": "营收不超过5000万元"},
             {"field": "rd_ratio", "op": "ge", "value": 0.05, "explain": "研发占比不低于5%"}]},
    {"all": [{"field": "revenue", "op": "gt", "value": 5000, "explain": "营收超过5000万元"},
             {"field": "revenue", "op": "le", "value": 20000, "explain": "营收不超过2亿元"},
             {"field": "rd_ratio", "op": "ge", "value": 0.04, "explain": "研发占比不低于4%"}]},
    {"all": [{"field": "revenue", "op": "gt", "value": 20000, "explain": "营收超过2亿元"},
             {"field": "rd_ratio", "op": "ge", "value": 0.03, "explain": "研发占比不低于3%"}]},
]}
TITLE = {"any": [{"field": "certifications", "op": "holds", "value": "高新技术企业", "explain": "已是高企"},
                 {"all": [TIERS, {"unencoded": "知识产权", "explain": "拥有核心知识产权"}]}]}


def test_every_encoded_condition_met_but_one_left_out_is_likely_and_names_it():
    verdict = evaluate(TITLE, {"revenue": 8000, "rd_ratio": 0.05}, on=ON)
    assert verdict.status is Status.LIKELY and verdict.to_confirm == ("拥有核心知识产权",)
    assert verdict.undecided_fields == ()


def test_a_condition_confirmed_by_the_firm_makes_it_eligible():
    verdict = evaluate(TITLE, {"revenue": 8000, "rd_ratio": 0.05, "confirmed": ["知识产权"]}, on=ON)
    assert verdict.status is Status.ELIGIBLE


def test_a_held_title_is_eligible_and_an_unmentioned_one_is_not_held():
    assert evaluate(TITLE, {"certifications": ["高新技术企业"]}, on=ON).status is Status.ELIGIBLE
    failed = evaluate(TITLE, {"revenue": 8000, "rd_ratio": 0.035}, on=ON)
    assert failed.status is Status.NOT_ELIGIBLE


def test_a_tier_is_reported_by_the_branch_that_applies():
    failed = evaluate(TIERS, {"revenue": 8000, "rd_ratio": 0.035}, on=ON)
    assert [f.explanation for f in failed.failed] == ["研发占比不低于4%"]


def test_a_hedged_figure_decides_only_when_its_range_is_on_one_side():
    rule = {"field": "revenue", "op": "ge", "value": 2000}
    assert evaluate(rule, {"revenue": 2000}, on=ON, approximate={"revenue": (1800, 2200)}).status is Status.UNKNOWN
    assert evaluate(rule, {"revenue": 2000}, on=ON, approximate={"revenue": (None, 1999.99)}).status is \
        Status.NOT_ELIGIBLE
    assert evaluate(rule, {"revenue": 8000}, on=ON, approximate={"revenue": (8000, 9000)}).status is Status.ELIGIBLE
    assert evaluate(rule, {"revenue": 2050}, on=ON, approximate=["revenue"]).status is Status.UNKNOWN


def test_a_city_decides_a_county_group_only_when_all_its_counties_agree():
    rule = {"field": "region", "op": "in_group", "value": "山区26县"}
    assert evaluate(rule, {"region": "宁波市"}, on=ON).status is Status.NOT_ELIGIBLE
    assert evaluate(rule, {"region": "丽水市"}, on=ON).status is Status.UNKNOWN


def test_a_fact_firms_rarely_state_is_read_as_the_usual_case_without_a_reason_shown():
    rule = {"field": "entity_type", "op": "eq", "value": "企业", "if_missing": "企业"}
    verdict = evaluate(rule, {}, on=ON)
    assert verdict.status is Status.ELIGIBLE and verdict.met == ()
    assert evaluate(rule, {"entity_type": "个体工商户"}, on=ON).status is Status.NOT_ELIGIBLE


def test_the_firms_age_comes_from_its_founding_year_on_the_evaluation_date():
    rule = {"field": "firm_age", "op": "ge", "value": 1}
    assert evaluate(rule, {"founded_year": 2026}, on=ON).status is Status.NOT_ELIGIBLE
    assert evaluate(rule, {"founded_year": 2024}, on=ON).status is Status.ELIGIBLE


# A condition firms rarely state and rarely fail: unstated, it is one to confirm, never a question of its own.
OPEN_SECTOR = {"all": [
    {"field": "industry", "op": "in", "value": ["通用设备", "金属制品"], "unstated": "confirm",
     "explain": "所属行业为设备或金属加工"},
    {"field": "employees", "op": "lt", "value": 150, "explain": "职工少于150人"},
]}


def test_an_unstated_condition_to_confirm_leaves_the_verdict_likely_and_is_not_asked():
    from kb.eligibility import next_question

    verdict = evaluate(OPEN_SECTOR, {"employees": 42}, on=ON)
    assert verdict.status is Status.LIKELY and verdict.to_confirm == ("所属行业为设备或金属加工",)
    assert next_question([("m", OPEN_SECTOR)], {"employees": 42}, on=ON) is None
    asked = next_question([("m", OPEN_SECTOR)], {}, on=ON)
    assert asked is not None and asked.name == "employees"


def test_a_condition_to_confirm_is_decided_once_stated_or_confirmed():
    assert evaluate(OPEN_SECTOR, {"employees": 42, "industry": "金属制品"}, on=ON).status is Status.ELIGIBLE
    assert evaluate(OPEN_SECTOR, {"employees": 42, "industry": "批发零售"}, on=ON).status is Status.NOT_ELIGIBLE
    confirmed = {"employees": 42, "confirmed": ["所属行业为设备或金属加工"]}
    assert evaluate(OPEN_SECTOR, confirmed, on=ON).status is Status.ELIGIBLE


def test_unstated_takes_only_confirm_and_not_with_a_default():
    from kb.eligibility.rulebook import check_rule

    assert check_rule({"field": "employees", "op": "lt", "value": 9, "unstated": "ask"})
    assert check_rule({"field": "entity_type", "op": "eq", "value": "企业", "if_missing": "企业", "unstated": "confirm"})
    assert check_rule({"field": "employees", "op": "lt", "value": 9, "unstated": "confirm"}) == []


def test_a_figure_just_under_a_threshold_said_with_duo_fails_it():
    from kb.eligibility.parsing import extract

    found = extract("做注塑件的，去年主营一千九百多万", today=ON)
    rule = {"field": "revenue", "op": "ge", "value": 2000}
    assert evaluate(rule, found.facts, on=ON, approximate=found.ranges).status is Status.NOT_ELIGIBLE


def test_the_rd_expense_follows_from_revenue_and_ratio_and_is_as_hedged_as_the_ratio():
    spend = {"field": "rd_expense", "op": "ge", "value": 100}
    assert evaluate(spend, {"revenue": 4000, "rd_ratio": 0.05}, on=ON).status is Status.ELIGIBLE   # 200万
    assert evaluate(spend, {"revenue": 4000, "rd_ratio": 0.02}, on=ON).status is Status.NOT_ELIGIBLE  # 80万
    # "研发占2.6%左右" of 4000万 is 94–114万: it does not decide a 100万 floor.
    hedged = evaluate(spend, {"revenue": 4000, "rd_ratio": 0.026}, on=ON, approximate={"rd_ratio": (0.0234, 0.0286)})
    assert hedged.status is Status.UNKNOWN
