"""Reading firm facts as real people type them, and refusing what cannot be a fact."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.eligibility.numbers import cn_number
from kb.eligibility.parsing import extract, extract_facts
from kb.eligibility.profile import FIELDS, KINDS, Parsed, Problem, derive, parse

TODAY = dt.date(2026, 3, 1)


def value_of(field: str, text: str):
    result = parse(field, text, today=TODAY)
    assert isinstance(result, Parsed), result
    return result.value


def problem_of(field: str, text: str) -> str:
    result = parse(field, text, today=TODAY)
    assert isinstance(result, Problem), result
    return result.message


# --- registry --------------------------------------------------------------------------------------


def test_every_field_has_a_label_a_kind_a_question_and_a_distinct_ease():
    for field in FIELDS.values():
        assert field.label and field.question and field.kind in KINDS
    assert len({f.ease for f in FIELDS.values()}) == len(FIELDS)


# --- money -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "wan"), [
    ("两千万", 2000), ("2000万", 2000), ("0.2亿", 2000), ("1.2个亿", 12000), ("3500万元", 3500),
    ("6800万", 6800), ("营收6800万", 6800), ("一亿二", 12000), ("一千二百万", 1200), ("3千万", 3000),
    ("5000000元", 500), ("1,200万", 1200), ("300w", 300), ("１２００万", 1200), ("一点五亿", 15000),
])
def test_money_is_read_in_wan_yuan(text, wan):
    assert value_of("revenue", text) == wan


def test_money_without_a_unit_is_taken_as_wan_yuan_and_flagged_for_confirmation():
    result = parse("revenue", "6800")
    assert (result.value, result.approximate) == (6800, True)
    assert "按6800万元理解" in result.note


def test_money_with_duo_is_an_approximate_lower_bound():
    result = parse("revenue", "两千多万")
    assert (result.value, result.approximate) == (2000, True)


@pytest.mark.parametrize(("text", "words"), [
    ("1e9", "科学计数法"), ("abc", "没有从“abc”里看到金额"), ("-5万", "不能是负数"), ("好几百万", "不是具体的金额"),
    ("100万到200万", "不止一个数"),
])
def test_impossible_money_gets_a_chinese_problem(text, words):
    assert words in problem_of("revenue", text)


# --- counts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "count"), [
    ("120人", 120), ("一百二十人", 120), ("85个人", 85), ("一百二", 120), ("两百", 200), ("1.2万人", 12000),
    ("二十五名员工", 25),
])
def test_head_counts_are_read(text, count):
    assert value_of("employees", text) == count


@pytest.mark.parametrize("text", ["一百多人", "大约200人", "150人左右", "一百来人"])
def test_vague_head_counts_are_flagged_for_confirmation(text):
    result = parse("employees", text)
    assert isinstance(result, Parsed) and result.approximate and result.note == "这是估计值，请确认"


def test_yi_bai_duo_ren_is_one_hundred_to_confirm():
    assert parse("employees", "一百多人").value == 100


@pytest.mark.parametrize(("text", "words"), [
    ("很多人", "“很多人”不是具体的人数"), ("-5人", "人数不能是负数"), ("1e9", "科学计数法"), ("abc", "没有从“abc”里看到人数"),
    ("85.5人", "人数应是整数"), ("几十个人", "不是具体的人数"), ("80到100人", "不止一个数"), ("三千万人", "不合常理"),
])
def test_impossible_head_counts_get_a_chinese_problem(text, words):
    assert words in problem_of("employees", text)


# --- ratios ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ratio"), [
    ("3.5%", 0.035), ("百分之三点五", 0.035), ("3.5％", 0.035), ("百分之5", 0.05), ("千分之五", 0.005), ("100%", 1),
])
def test_ratios_are_read_as_fractions(text, ratio):
    assert value_of("rd_ratio", text) == pytest.approx(ratio)


def test_a_bare_number_for_a_ratio_is_a_percentage_to_confirm():
    result = parse("rd_ratio", "3.5")
    assert (result.value, result.approximate, result.note) == (0.035, True, "按3.5%理解，请确认")


def test_an_rd_amount_given_for_the_ratio_becomes_rd_expense_until_revenue_is_known():
    result = parse("rd_ratio", "研发投入300万")
    assert (result.field, result.value) == ("rd_expense", 300)
    assert "rd_ratio" not in derive({"rd_expense": 300})
    assert derive({"rd_expense": 300, "revenue": 6000})["rd_ratio"] == 0.05


@pytest.mark.parametrize(("text", "words"), [
    ("150%", "不能超过100%"), ("-3%", "不能是负数"), ("abc", "没有从“abc”里看到比例"), ("1e9", "科学计数法"),
])
def test_impossible_ratios_get_a_chinese_problem(text, words):
    assert words in problem_of("rd_ratio", text)


# --- years -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "year"), [("2015年", 2015), ("2015", 2015), ("二〇一五年", 2015), ("2026年", 2026)])
def test_founding_years_are_read(text, year):
    assert value_of("founded_year", text) == year


def test_years_since_founding_count_back_from_today_and_are_confirmed():
    result = parse("founded_year", "成立5年了", today=TODAY)
    assert (result.value, result.approximate) == (2021, True)


@pytest.mark.parametrize(("text", "words"), [
    ("2027年", "成立年份不能晚于今年（2026年）"), ("15年", "完整的年份"), ("1800年", "太早"), ("abc", "没有从“abc”里看到年份"),
    ("1e9", "不是年份"),
])
def test_impossible_founding_years_get_a_chinese_problem(text, words):
    assert words in problem_of("founded_year", text)


# --- regions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "region"), [
    ("遂昌", "丽水市遂昌县"), ("遂昌县", "丽水市遂昌县"), ("丽水遂昌", "丽水市遂昌县"), ("滨江", "杭州市滨江区"),
    ("杭州滨江", "杭州市滨江区"), ("杭州市滨江区", "杭州市滨江区"), ("平阳", "温州市平阳县"), ("洞头", "温州市洞头区"),
    ("嵊泗", "舟山市嵊泗县"), ("景宁", "丽水市景宁畲族自治县"), ("江山", "衢州市江山市"), ("鄞州", "宁波市鄞州区"),
    ("义乌", "金华市义乌市"), ("我们在萧山", "杭州市萧山区"),
])
def test_places_are_read_as_county_with_city(text, region):
    assert value_of("region", text) == region


@pytest.mark.parametrize(("text", "words"), [
    ("杭州", "还需要具体的县（市、区）"), ("杭州遂昌", "“遂昌县”属于丽水市，不属于杭州市"), ("上海", "不在浙江省内"),
    ("abc", "没认出“abc”是浙江哪个县"),
])
def test_places_that_are_not_a_zhejiang_county_get_a_chinese_problem(text, words):
    assert words in problem_of("region", text)


# --- industries, certifications, ownership ------------------------------------------------------------


@pytest.mark.parametrize(("text", "industry"), [
    ("金属制品厂", "金属制品"), ("五金", "金属制品"), ("软件公司", "软件和信息技术服务"), ("做互联网的", "软件和信息技术服务"),
    ("服装厂", "纺织服装服饰"), ("批发", "批发零售"), ("开超市", "批发零售"), ("种植", "农业"), ("汽配", "汽车制造"),
    ("一个工厂", "制造业"), ("批发零售", "批发零售"),
])
def test_industries_map_onto_the_standard_list(text, industry):
    assert value_of("industry", text) == industry


def test_an_unknown_industry_gets_a_chinese_problem():
    assert "没认出“abc”属于哪个行业" in problem_of("industry", "abc")


@pytest.mark.parametrize(("text", "names"), [
    ("高企", {"高新技术企业"}), ("国家高新技术企业", {"高新技术企业"}), ("专精特新", {"专精特新中小企业"}),
    ("小巨人", {"专精特新小巨人企业", "专精特新中小企业"}), ("科小", {"科技型中小企业"}),
    ("科技型中小企业和高企", {"科技型中小企业", "高新技术企业"}), ("有科小，没有高企", {"科技型中小企业"}),
    ("没有", set()), ("都没有", set()),
])
def test_certifications_are_read_by_their_common_names(text, names):
    assert value_of("certifications", text) == frozenset(names)


@pytest.mark.parametrize(("text", "ownership"), [
    ("民营", "民营"), ("民企", "民营"), ("私营企业", "民营"), ("国企", "国有"), ("外资", "外资"), ("中外合资", "外资"),
])
def test_ownership_is_read(text, ownership):
    assert value_of("ownership", text) == ownership


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("text", ["", "   ", "abc", "？？", "1e9", "很多人", "-5人", "\x00", "💰" * 500])
def test_no_parser_ever_raises(field, text):
    assert isinstance(parse(field, text, today=TODAY), (Parsed, Problem))


def test_an_unknown_field_is_a_problem_not_an_exception():
    assert isinstance(parse("salary", "3000"), Problem)


# --- free sentences --------------------------------------------------------------------------------


def test_facts_are_pulled_from_a_firms_own_sentence():
    assert extract_facts("我们是丽水遂昌的民营金属制品厂，85个人，营收6800万") == {
        "region": "丽水市遂昌县", "ownership": "民营", "industry": "金属制品", "employees": 85, "revenue": 6800,
        "entity_type": "企业",
    }


def test_a_longer_sentence_gives_every_fact_it_holds_and_flags_the_vague_ones():
    found = extract("杭州滨江的软件公司，2015年成立，员工一百多人，年营业收入1.2个亿，研发投入900万，是高企", today=TODAY)
    assert found.facts == {
        "region": "杭州市滨江区", "industry": "软件和信息技术服务", "founded_year": 2015, "employees": 100,
        "revenue": 12000, "rd_expense": 900, "certifications": frozenset({"高新技术企业"}), "entity_type": "企业",
    }
    assert found.approximate == {"employees"}
    assert found.problems == {}


def test_a_sentence_with_an_rd_share_and_assets():
    assert extract_facts("衢州江山的化工企业，研发占比3.5%，总资产4000万，2008年成立") == {
        "region": "衢州市江山市", "industry": "化学原料和化学制品", "rd_ratio": 0.035, "total_assets": 4000,
        "founded_year": 2008, "entity_type": "企业",
    }


def test_impossible_values_in_a_sentence_are_reported_not_kept():
    found = extract("我们在杭州，-5人")
    assert "employees" not in found.facts
    assert found.problems["employees"] == "人数不能是负数，请核对后再告诉我"
    # A city is a fact of its own: a county is asked only when a rule needs one.
    assert found.facts["region"] == "杭州市"


def test_a_sentence_without_facts_gives_nothing():
    assert extract_facts("你好，请问有什么政策？") == {}


@pytest.mark.parametrize(("text", "value"), [
    ("两千万", 2e7), ("一百二十", 120), ("十五", 15), ("一百零五", 105), ("两千五", 2500), ("一万五", 15000),
    ("三点五", 3.5), ("二〇一五", 2015), ("十", 10), ("万", None), ("abc", None),
])
def test_chinese_numerals(text, value):
    assert cn_number(text) == value
