"""The free-text reader on fresh wording (none of it appears in a dev or blind set)."""

from __future__ import annotations

import datetime as dt

import pytest

from kb.eligibility.numbers import normalise
from kb.eligibility.parsing import extract, quantities

TODAY = dt.date(2026, 6, 1)


def facts(text: str, **kwargs):
    return extract(text, today=TODAY, **kwargs)


@pytest.mark.parametrize("text, value, low, high", [
    ("营业额六千多万", 6000, 6000, 7000),
    ("年销售额不到三千万", 2850, None, 3000),  # under it, and close: the point stands at 0.95 of it
    ("营业收入不低于四千万", 4000, 4000, None),  # "不低于" is at least, though it ends with "低于"
    ("销售收入接近八千万", 8000, 7200, 8000),
    ("营收九百万出头", 900, 900, 990),
    ("营收四五千万", 4500, 4000, 5000),
    ("营收两个半亿", 25000, None, None),
    ("销售额一亿三", 13000, None, None),
    ("营收两百来万", 200, 180, 220),
])
def test_a_revenue_is_read_with_the_range_its_wording_allows(text, value, low, high):
    found = facts(text)
    assert found.facts["revenue"] == pytest.approx(value)
    if low is not None or high is not None:
        got_low, got_high = found.ranges["revenue"]
        assert (got_low is None and low is None) or got_low == pytest.approx(low, rel=1e-3)
        assert (got_high is None and high is None) or got_high == pytest.approx(high, rel=1e-3)


def test_several_facts_in_one_message_in_any_order():
    found = facts("做塑料包装的，一百四十号人，资产三千万左右，去年开票五千二百万，研发大概占收入的3.6%，义乌的")
    assert found.facts["employees"] == 140 and found.facts["total_assets"] == 3000
    assert found.facts["revenue"] == 5200 and found.facts["rd_ratio"] == pytest.approx(0.036)
    assert found.facts["region"] == "金华市义乌市" and found.facts["industry"] == "橡胶和塑料制品"


def test_last_year_wins_over_this_years_forecast():
    assert facts("今年目标做到五千万，去年实际是三千六百万").facts["revenue"] == 3600


def test_a_loss_is_a_negative_taxable_income_and_a_vague_loss_is_at_most_zero():
    assert facts("去年亏损八十万").facts["taxable_income"] == -80
    vague = facts("这两年一直不赚钱")
    assert vague.facts["taxable_income"] == 0 and vague.ranges["taxable_income"][1] == 0


def test_an_rd_share_of_sales_is_a_ratio_not_a_revenue():
    found = facts("研发支出大约是销售额的百分之四点五")
    assert found.facts == {"rd_ratio": pytest.approx(0.045)}


def test_a_bare_figure_answers_only_the_field_asked():
    assert facts("三千二", asked="revenue").facts == {"revenue": 3200}
    assert facts("三千二", asked="employees").facts == {"employees": 3200}
    assert "revenue" not in facts("三千二").facts


@pytest.mark.parametrize("text, entity", [("开了个小吃店，个体的执照", "个体工商户"), ("是家有限责任公司", "有限责任公司"),
                                          ("我们是合伙企业", "合伙企业"), ("注册的是股份公司", "股份有限公司"),
                                          ("做设计的有限合伙", "有限合伙企业"), ("我们只是总部下面的分公司", "分公司"),
                                          ("a small LLC in Ningbo", "有限责任公司"), ("a sole proprietorship", "个体工商户")])
def test_entity_types_keep_the_type_the_firm_names(text, entity):
    assert facts(text).facts["entity_type"] == entity


def test_a_denied_entity_type_is_not_read():
    assert facts("不是个体户，是公司").facts["entity_type"] == "企业"


def test_a_place_inside_a_county_and_a_city_alone():
    assert facts("厂子在织里镇").facts["region"] == "湖州市吴兴区"
    assert facts("在宁波，具体区县先不讲").facts["region"] == "宁波市"


@pytest.mark.parametrize("text, held", [
    ("去年刚拿到科技型中小企业入库编号", {"科技型中小企业"}),
    ("打算明年申报高新技术企业", set()),
    ("专精特新的牌子前年到期了，没再申报", set()),
    ("高企和专精特新我们都有", {"高新技术企业", "专精特新中小企业"}),
])
def test_titles_held_wanted_and_lapsed(text, held):
    assert set(facts(text).facts.get("certifications", set())) == held


def test_none_after_the_certification_question_means_none():
    assert facts("暂时没有", asked="certifications").facts["certifications"] == frozenset()


def test_years_since_founding():
    assert facts("公司成立有六年了").facts["founded_year"] == 2020
    assert facts("八几年就办厂了").ranges["founded_year"] == (1980, 1989)


def test_a_lone_numeral_character_is_a_word():
    assert quantities(normalise("一般就是这样")) == []


@pytest.mark.parametrize("text", ["高企认定还在等结果", "我们不是高企", "专精特新正在申报中"])
def test_a_title_pending_or_denied_is_not_held(text):
    assert "certifications" not in facts(text).facts


def test_a_title_expiring_later_is_still_held():
    assert facts("高企证书明年到期").facts["certifications"] == frozenset({"高新技术企业"})


def test_a_figure_of_some_other_money_answers_no_question():
    assert facts("注册资本1000万", asked="revenue").facts == {}
    assert facts("近两年融了三千万", asked="revenue").facts == {"equity_financing_2yr": 3000}


def test_a_part_introduced_by_qizhong_does_not_replace_the_whole():
    assert facts("四十来个员工，其中技术人员8人").facts["employees"] == 40
    assert facts("销售额三千万，其中外贸一千二百万").facts["revenue"] == 3000


def test_a_total_over_several_years_is_not_last_years_figure():
    assert "rd_expense" not in facts("这几年研发加起来投了一千多万").facts


def test_a_hedge_after_the_figure_and_a_founding_year_without_a_founding_word():
    found = facts("我们公司是2012年的，员工一百人不到")
    assert found.facts["founded_year"] == 2012 and found.ranges["employees"][1] < 100


@pytest.mark.parametrize(("text", "field", "value"), [
    ("銷售額八百萬左右", "revenue", 800),             # traditional characters
    ("营收 ¥3,600,000", "revenue", 360),              # a ¥ amount is in 元
    ("九八年建的厂", "founded_year", 1998),            # a two-digit year
    ("前年成立的", "founded_year", 2024),
    ("研发占销售的两成", "rd_ratio", 0.2),             # 两成 = 20%
])
def test_more_ways_firms_write_a_fact(text, field, value):
    facts = extract(text, today=dt.date(2026, 12, 3)).facts
    assert facts.get(field) == pytest.approx(value), facts


def test_a_dialect_no_means_no_certifications():
    assert extract("木有任何资质", today=dt.date(2026, 12, 3)).facts.get("certifications") == frozenset()


@pytest.mark.parametrize("text, field, value", [
    ("sales were roughly 75 million yuan last year", "revenue", 7500),
    ("about 45 people on the payroll, R&D expenses of 2.5 million", "employees", 45),
    ("about 45 people on the payroll, R&D expenses of 2.5 million", "rd_expense", 250),
    ("total assets around 1.1 billion RMB", "total_assets", 110000),
    ("incorporated in 2009, a foreign-owned factory", "founded_year", 2009),
    ("incorporated in 2009, a foreign-owned factory", "ownership", "外资"),
    ("our plant is in Suichang, Lishui", "region", "丽水市遂昌县"),
])
def test_english_phrasings_are_read_like_chinese(text, field, value):
    assert facts(text).facts[field] == value


def test_a_written_head_then_two_neighbouring_digits_is_a_range():
    found = facts("营收两千七八百万")
    assert found.ranges["revenue"] == (pytest.approx(2700), pytest.approx(2800))


def test_brackets_and_spaces_between_chinese_words_end_a_clause():
    found = facts("研发费用九十万（近三年研发合计占销售收入约6%） 今年预计营收一千五百万 去年营收一千二百万")
    assert found.facts["rd_expense"] == 90 and found.facts["rd_ratio"] == pytest.approx(0.06)
    assert found.facts["revenue"] == 1200  # last year's figure, not this year's forecast


@pytest.mark.parametrize("text, ratio", [
    ("研发占比6%，科技人员占职工的18%", 0.18),
    ("职工250人，其中科技人员40人", 0.16),
    ("科技人员比例差不多一成二", 0.12),
])
def test_the_share_of_science_staff_is_its_own_fact(text, ratio):
    found = facts(text)
    assert found.facts["tech_staff_ratio"] == pytest.approx(ratio)
    assert found.facts.get("rd_ratio") in (None, pytest.approx(0.06))


def test_a_trading_firm_is_in_trade_whatever_goods_it_sells():
    assert facts("温州一家进出口公司，主要卖鞋").facts["industry"] == "批发零售"
    assert facts("温州的鞋厂，自己生产也做外贸").facts["industry"] == "皮革制鞋"


def test_a_firm_registered_in_another_province_is_outside_zhejiang():
    assert facts("公司在苏州工业园区，做精密模具").facts["region"] == "浙江省外"


@pytest.mark.parametrize("text, field, value", [
    ("员工应该是120，不是210", "employees", 120),
    ("正式工70人，另外还有外包派遣的12人", "employees", 82),
    ("净利润（也就是应纳税所得额）大概四十来万", "taxable_income", 40),
    ("营业收入跟去年持平，还是九百万", "revenue", 900),
    ("R&D is about 4 percent of sales", "rd_ratio", 0.04),
    ("revenue 3.5yi", "revenue", 35000),
    ("今年基本打平", "taxable_income", 0),
])
def test_corrections_additions_and_labels_across_clauses(text, field, value):
    assert facts(text).facts[field] == pytest.approx(value)


def test_a_shop_selling_goods_is_in_trade():
    assert facts("在义乌卖围巾的个体户").facts["industry"] == "批发零售"


@pytest.mark.parametrize("text, field, value", [
    ("人手不多，也就五六个", "employees", 5),
    ("毛利不算，净利率8%，营收3000万", "taxable_income", 240),
    ("这是个老厂，八十年代就有，1986年", "founded_year", 1986),
    ("今年刚注册了商标，去年营收900万", "founded_year", None),
    ("we are a WFOE with 60 staff. total assets 30 million.", "total_assets", 3000),
])
def test_counts_margins_founding_and_english_sentences(text, field, value):
    got = facts(text).facts.get(field)
    assert got == (pytest.approx(value) if value is not None else None)


def test_a_bare_figure_in_a_correction_replaces_the_fact_of_its_kind_said_last():
    from kb.eligibility.parsing import corrected_figure

    assert corrected_figure("刚才记错了，是两千六百万", ["employees", "revenue", "total_assets"]).facts == {
        "total_assets": 2600}
    assert corrected_figure("更正一下，是一百一十人", ["employees", "revenue"]).facts == {"employees": 110}
    assert corrected_figure("是两千六百万", ["revenue"]).facts == {}  # no correction word: not a correction
    assert corrected_figure("不对，是两千六百万", ["employees"]).facts == {}  # nothing of its kind was said


@pytest.mark.parametrize("text, kind", [("我们有个国内首台套，是成套装备", "整机"), ("首台（套）认定的是个关键零部件", "零部件"),
                                        ("有个省内首台套，按标准认定的", "按标准认定"), ("做汽车配件的，营收三千万", None),
                                        ("做零部件的，有个首台套是整机", "整机")])
def test_the_kind_of_a_recognised_first_set_is_read_only_where_it_is_spoken_of(text, kind):
    assert facts(text).facts.get("equipment_type") == kind


def test_what_a_firm_bought_is_not_its_trade():
    # The software and robots of an upgrade are what was bought; the trade is the bottled water.
    found = facts("我们在建德做桶装水，去年智能化改造软件和机器人花了900万").facts
    assert found["industry"] == "酒饮料和精制茶制造" and found["digital_investment"] == 900
    assert facts("我们是做工业机器人的，营收3000万").facts["industry"] == "通用设备"


def test_a_trade_said_after_a_word_about_rd_is_still_read():
    # "没搞研发" ends at its clause: the trade after it is the firm's.
    assert facts("去年没搞研发，主要做羊毛衫的，90个人").facts["industry"] == "纺织服装服饰"


def test_a_share_with_a_label_of_its_own_is_not_the_rd_ratio():
    found = facts("研发费用占营收6%，出口收入占比70%").facts
    assert found["rd_ratio"] == pytest.approx(0.06)
    assert facts("研发投入500万，占营收5%").facts["rd_ratio"] == pytest.approx(0.05)


@pytest.mark.parametrize("text, facts_read", [
    ("近两年没融过资，研发一年两百万", {"equity_financing_2yr": 0.0, "rd_expense": 200.0}),
    ("专精特新还没申报过", {"certifications": frozenset()}),
    ("尚未获得任何认定", {"certifications": frozenset()})])
def test_a_firm_saying_it_has_none_of_something_gives_none(text, facts_read):
    found = facts(text).facts
    assert {k: found.get(k) for k in facts_read} == facts_read


@pytest.mark.parametrize("text, ownership", [("我们是德国全资的", "外资"), ("台商投资的鞋厂", "外资"),
                                             ("给日本客户做配套的民企", "民营")])
def test_a_foreign_owner_named_by_its_country_is_foreign_ownership(text, ownership):
    assert facts(text).facts["ownership"] == ownership


def test_a_self_employed_entity_implies_private_ownership():
    from kb.eligibility.profile import derive

    assert derive({"entity_type": "个体工商户"})["ownership"] == "民营"
    assert "ownership" not in derive({"entity_type": "有限责任公司"})


@pytest.mark.parametrize("text, field, value", [
    ("我们是家茶叶专业合作社", "entity_type", "农民专业合作社"),
    ("厂子已经有十五年了", "founded_year", 2011),
    ("研发费用占营收一成多", "rd_ratio", 0.1),
    ("研发占收入的一半", "rd_ratio", 0.5),
    ("信息化投入差不多八百万", "digital_investment", 800),
    ("数字化还没投过钱", "digital_investment", 0),
])
def test_more_ways_firms_state_a_fact(text, field, value):
    assert facts(text).facts[field] == (value if isinstance(value, str) else pytest.approx(value))


def test_a_title_asked_about_is_not_a_title_held():
    assert "certifications" not in facts("小巨人对研发投入的要求，我们营收九千万").facts
    assert facts("我们是小巨人，营收九千万").facts["certifications"] >= {"专精特新小巨人企业"}


def test_the_private_economy_named_as_a_sector_is_no_firms_ownership():
    assert "ownership" not in facts("全省民营经济增加值的目标占比是多少").facts
    assert facts("我们是民营的，做民营经济服务").facts["ownership"] == "民营"


def test_a_county_is_kept_when_a_city_is_named_elsewhere_in_the_message():
    assert facts("仙居的制药厂，去年在杭州设了个研发子公司").facts["region"] == "台州市仙居县"
    assert "region" not in facts("杭州遂昌的茶厂").facts or facts("杭州遂昌的茶厂").facts["region"] != "丽水市遂昌县"


@pytest.mark.parametrize("text, rank, bounds", [
    ("我们的主打产品世界排名第二", 2, None),
    ("细分产品在全国排第四", 4, (4, None)),  # fourth at home: at best fourth in the world
    ("市场份额全球前五", 5, (1, 5)),
])
def test_a_market_rank_is_read_as_a_world_rank(text, rank, bounds):
    found = facts(text)
    assert found.facts["market_rank"] == rank and found.ranges.get("market_rank") == bounds


def test_a_rank_is_no_head_count_and_a_batch_is_no_rank():
    found = facts("员工九百人，出口量全球排第6")
    assert found.facts["employees"] == 900 and found.facts["market_rank"] == 6
    assert "market_rank" not in facts("去年评上了第三批专精特新").facts


@pytest.mark.parametrize("text, field, value", [
    ("丽水松阳的，二十来号人，开票三千六", "revenue", 3600),          # the 三千六 shorthand inside a longer message
    ("在嘉兴海宁，员工九十，家底大概六千四", "employees", 90),
    ("温岭做水泵的，研发一年两百三，营收八千万", "rd_expense", 230),
    ("销售额是五千一，去年新招了人", "revenue", 5100),                # right after its label, in Chinese numerals
])
def test_a_money_amount_said_without_its_unit_is_read_inside_a_longer_message(text, field, value):
    assert facts(text).facts[field] == pytest.approx(value)


def test_a_level_or_a_count_without_a_unit_is_not_taken_for_money():
    found = facts("两化融合评估三级，营收七千万，数字化水平2.5")
    assert found.facts["revenue"] == pytest.approx(7000)


@pytest.mark.parametrize("text, value, low, high", [
    ("车间里三五十个工人", 40, 30, 50),       # the idiom skips a digit: 30–50
    ("办公室四六个人", None, None, None),      # not an idiom: no range invented from it
])
def test_a_pair_of_numerals_three_to_five_is_a_range(text, value, low, high):
    found = facts(text)
    if value is None:
        assert found.facts.get("employees") != 46
        return
    assert found.facts["employees"] == value
    assert found.ranges["employees"] == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize("text, year", [
    ("营业执照才领了五个月", None),            # no founding verb the reader knows: nothing guessed
    ("公司注册刚满三个月", 2026),              # months back from June stay in this year
    ("去年夏天成立，到现在十个月", 2025),
    ("厂子开了三十多年", 1995),                # 31–39 years: founded by 1995
    ("我们做这行十五年", 2011),
])
def test_how_long_a_firm_has_been_going_gives_its_founding_year(text, year):
    assert facts(text).facts.get("founded_year") == year


def test_months_since_founding_are_not_a_head_count():
    assert "employees" not in facts("刚注册七个月，营收三百万").facts


@pytest.mark.parametrize("text, field, value", [
    ("员工数量报错了，是一百二不是一百五", "employees", 120),
    ("刚才写错地方了，不是遂昌是云和", "region", "丽水市云和县"),
    ("研发投入大约四个半点", "rd_ratio", 0.045),
    ("研发这块就投了几万", "rd_expense", 2),
])
def test_corrections_and_colloquial_figures(text, field, value):
    got = facts(text).facts[field]
    assert got == (pytest.approx(value) if isinstance(value, (int, float)) else value)


def test_a_figure_with_duo_stays_below_the_next_step():
    low, high = facts("销售收入五千九百多万").ranges["revenue"]
    assert 5900 < low and high < 6000  # "五千九百多万" never reaches 6000


@pytest.mark.parametrize("text, industry", [
    ("家里做竹砧板和筷子的小厂", "木材加工"),
    ("主营不锈钢管材", "金属制品"),
    ("我们是搞香菇种植的", "农业"),
    ("石材加工，二十多人", "非金属矿物制品"),
])
def test_a_product_names_its_industry(text, industry):
    assert facts(text).facts["industry"] == industry


@pytest.mark.parametrize("text", ["母公司设在韩国，我们在嘉善", "大股东是台湾的，工厂开在平湖", "意大利集团控股的阀门厂，在温州龙湾"])
def test_a_foreign_owner_named_after_its_role_makes_the_firm_foreign_owned_not_located_abroad(text):
    found = facts(text).facts
    assert found["ownership"] == "外资" and found["region"][:3] in ("嘉兴市", "温州市")


@pytest.mark.parametrize("text, employees", [("设备合同价九百万", None), ("员工1.5万人左右", 15000), ("三千多人", 3000)])
def test_a_money_amount_is_never_a_head_count_and_wan_people_are_people(text, employees):
    assert facts(text, asked="employees").facts.get("employees") == employees


@pytest.mark.parametrize("text, field, value", [
    ("研发投入大约占销售的四个多点", "rd_ratio", 0.04),         # 个多点: percentage points, never people
    ("今年营收冲到6kw", "revenue", 6000.0),                      # kw = 千万, w = 万
    ("利润去年120w左右", "taxable_income", 120.0),
    ("公司零三年就有了", "founded_year", 2003),                  # a two-digit year before 就有
    ("市国资委下面的公司", "ownership", "国有"),
    ("我们是新三板挂牌企业", "entity_type", "股份有限公司"),
    ("在萧山，不对，是滨江那边", "region", "杭州市滨江区"),     # the county taken back gives way
    ("在编员工200，另外外包工人40个", "employees", 240),
])
def test_more_colloquial_facts(text, field, value):
    got = facts(text).facts[field]
    assert got == (pytest.approx(value) if isinstance(value, float) else value)


def test_a_rank_behind_some_place_is_a_market_rank_not_a_head_count():
    found = facts("行业里大概排二十名往后")
    assert "employees" not in found.facts and found.ranges["market_rank"] == (21, None)


@pytest.mark.parametrize("text, held", [
    ("去年评上了高新", {"高新技术企业"}),
    ("想了解下高新、科小这两个能不能评", None),     # asked about, not held: a list inherits the question
    ("厂子就在高新区里面", None),                  # a place
    ("高新技术产品收入占六成", None),              # a product
])
def test_the_short_name_of_a_title_is_read_only_where_it_is_held(text, held):
    got = facts(text).facts.get("certifications")
    assert (set(got) if got is not None else None) == held


@pytest.mark.parametrize("text, field, value", [
    ("营业额大约1.5 亿", "revenue", 15000.0),                       # a space before 亿
    ("利润是负的，亏了差不多八十万", "taxable_income", -80.0),
    ("今年是亏的，大概一百万吧", "taxable_income", -100.0),          # the loss said in a clause before its figure
    ("厂房和设备合计九百来万", "total_assets", 900.0),
    ("研发一分钱没花", "rd_expense", 0.0),
    ("做摩托车配件的", "industry", "汽车制造"),
    ("digital upgrade cost about 12 million", "digital_investment", 1200.0),
])
def test_yet_more_colloquial_facts(text, field, value):
    got = facts(text).facts[field]
    assert got == (pytest.approx(value) if isinstance(value, float) else value)


def test_lai_stays_within_the_last_written_place():
    low, high = facts("去年营收两千九百来万").ranges["revenue"]
    assert 2800 <= low and high < 3000  # never reaches 3000


def test_a_type_the_firm_is_unsure_of_is_no_fact():
    found = facts("开了家小饭店，记不清办的是个体还是公司").facts
    assert "entity_type" not in found


def test_a_year_before_last_never_replaces_last_years_figure():
    found = facts("上年营收九千万，研发四百万；前年研发三百五十万")
    assert found.facts["rd_expense"] == 400.0


def test_yi_duo_is_more_than_that_many_yi():
    low, high = facts("营收三亿多").ranges["revenue"]
    assert 30000 < low and high < 40000


@pytest.mark.parametrize("text, industry", [("做水表和燃气表的", "仪器仪表"), ("主要做果汁饮品", "酒饮料和精制茶制造")])
def test_more_products_name_their_industry(text, industry):
    assert facts(text).facts["industry"] == industry
