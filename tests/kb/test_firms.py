"""Checks on behalf of a firm: credit-code check digits, registry look-ups, eligibility grouped for staff."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.eligibility import Status
from kb.eligibility.firms import check_digit, check_firm, credit_code_problem, find_firms_by_name, normalise_code
from kb.store.models import Document, Firm, Measure

TODAY = dt.date(2026, 2, 26)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000802100433B", "911100001000044477"])
def test_valid_unified_social_credit_codes_pass_the_gb32100_check(code):
    assert credit_code_problem(code) is None
    assert check_digit(code[:17]) == code[17]


def test_pasted_codes_are_normalised_from_full_width_lower_case_and_spaces():
    assert normalise_code(" ９１３５０１００m000100y43 ") == "91350100M000100Y43"
    assert credit_code_problem("9135 0100 m000 100y43") is None


@pytest.mark.parametrize(("code", "problem"), [
    ("91350100M000100Y42", "最后一位应为3"),
    ("91350100M000100Y4", "应为18位"),
    ("91350100M000100I43", "不允许的字符：I"),
])
def test_a_wrong_credit_code_says_what_is_wrong(code, problem):
    assert problem in credit_code_problem(code)


@pytest.fixture
def registry(sessions):
    with sessions.begin() as session:
        session.add(Document(id="doc", family="private_economy_32", edition="2024", title="测试文件",
                             short_name="测试文件", summary="测试"))
        session.add_all([
            Measure(id="a-staff", document_id="doc", number=1, title="吸纳就业补助", summary="测试",
                    rule={"field": "employees", "op": "ge", "value": 50}),
            Measure(id="b-revenue", document_id="doc", number=2, title="营收奖励", summary="测试",
                    rule={"field": "revenue", "op": "ge", "value": 5000}),
            Measure(id="c-expired", document_id="doc", number=3, title="过期措施", summary="测试",
                    rule={"field": "employees", "op": "ge", "value": 1}, valid_to=dt.date(2024, 12, 31)),
            Measure(id="d-no-rule", document_id="doc", number=4, title="无条件措施", summary="测试"),
        ])
        session.add_all([
            Firm(credit_code="91350100M000100Y43", name="遂昌测试金属制品有限公司", facts={"employees": 85}),
            Firm(credit_code="91110000802100433B", name="遂昌测试机械有限公司", facts={"employees": 20, "revenue": 9000}),
            Firm(credit_code="911100001000044477", name="坏数据有限公司", facts={"employees": "很多"}),
        ])
    return sessions


def test_a_registered_firm_found_by_code_gets_verdicts_for_measures_in_force_with_rules(registry):
    with registry() as session:
        check = check_firm("91350100M000100Y43", session=session, today=TODAY)
    assert check.problem is None and check.firm_name == "遂昌测试金属制品有限公司"
    assert [(v.measure_id, v.status) for v in check.verdicts] == [
        ("a-staff", Status.ELIGIBLE), ("b-revenue", Status.UNKNOWN)]
    assert check.verdicts[1].missing == ("上年营业收入",)
    assert check.verdicts[0].document == "测试文件第1条"


def test_a_firm_found_by_its_full_name_or_a_unique_part_of_it(registry):
    with registry() as session:
        assert check_firm("遂昌测试机械有限公司", session=session, today=TODAY).credit_code == "91110000802100433B"
        assert check_firm("机械", session=session, today=TODAY).firm_name == "遂昌测试机械有限公司"
        several = check_firm("遂昌测试", session=session, today=TODAY)
    assert several.problem and several.candidates == ("遂昌测试机械有限公司", "遂昌测试金属制品有限公司")


def test_a_name_search_treats_percent_and_underscore_literally(registry):
    with registry() as session:
        assert find_firms_by_name("%", session=session) == []
        assert find_firms_by_name("_", session=session) == []


def test_a_firm_described_in_one_sentence_is_judged_on_the_facts_read_from_it(registry):
    with registry() as session:
        check = check_firm("民营企业，120个人，营收3000万", session=session, today=TODAY)
    assert check.firm_name is None and check.facts["employees"] == 120
    assert [(v.measure_id, v.status) for v in check.verdicts] == [
        ("a-staff", Status.ELIGIBLE), ("b-revenue", Status.NOT_ELIGIBLE)]


def test_an_unknown_code_a_wrong_check_digit_and_an_empty_query_change_nothing_and_say_why(registry):
    with registry() as session:
        # 91110000000000000E is well formed (its check digit is E) but nobody in the registry has it.
        assert "没有统一社会信用代码为91110000000000000E" in check_firm(
            "91110000000000000E", session=session, today=TODAY).problem
        assert "校验位不对" in check_firm("91350100M000100Y42", session=session, today=TODAY).problem
        assert "帮企业查" in check_firm("  ", session=session, today=TODAY).problem
        assert "没有这家企业" in check_firm("某某某", session=session, today=TODAY).problem


def test_registry_facts_the_engine_cannot_read_name_the_firm(registry):
    with registry() as session:
        check = check_firm("坏数据有限公司", session=session, today=TODAY)
    assert check.verdicts == () and "企业库中“坏数据有限公司”的企业信息有误" in check.problem
