"""Actions read the tracker, ask kb once and utter responses by name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import answer as answer_actions
from actions import common, eligibility


@pytest.fixture(autouse=True)
def knowledge_base(seeded, db_url, monkeypatch):
    monkeypatch.setenv("HUIQI_DB_URL", db_url)
    common.sessions.cache_clear()
    yield seeded
    common.sessions.cache_clear()


DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))


def tracker_for(text: str, intent: str, entities: list[dict] | None = None, slots: dict | None = None,
                metadata: dict | None = None, channel: str = "rest") -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or [],
               "metadata": metadata or {}}
    events = [{"event": "user", "text": text, "input_channel": channel, "parse_data": message}]
    return Tracker("test-user", slots or {}, message, events, False, None, {}, "action_listen")


def run(action, tracker: Tracker) -> tuple[list, list]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def test_a_measure_question_is_answered_with_figure_source_and_department():
    messages, events = run(answer_actions.ActionAnswerMeasure(), tracker_for("首台套奖励多少", "ask_measure"))
    assert events == [{"event": "slot", "timestamp": None, "name": "last_question", "value": "首台套奖励多少"}]
    # The award levels are held only by a mirror page, so the answer adds 请以官方通知为准 (issue 17).
    assert [m["response"] for m in messages] == ["utter_measure_answer", "utter_measure_apply",
                                                 "utter_measure_low_confidence"]
    answer = messages[0]
    assert "200万元" in answer["key_figure"]
    assert answer["source_url"] == "http://dunya.com.cn/news/detail-172611.html"
    # The source line cites the document by title and number, as Chinese readers cite a policy.
    assert answer["document"].startswith("《") and answer["document"].endswith("（浙政发〔2025〕3号）")
    assert messages[1]["department"] == "省经信厅、省财政厅"


def test_an_outline_only_measure_says_so_and_points_to_the_official_text():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("政府采购有倾斜吗", "ask_measure"))
    assert messages[0]["response"] == "utter_measure_outline"
    assert messages[0]["document"] == "《浙江省促进民营经济高质量发展若干措施》"


def test_a_question_the_knowledge_base_cannot_match_gets_the_not_found_reply():
    messages, events = run(answer_actions.ActionAnswerMeasure(), tracker_for("跨境电商海外仓补助多少", "ask_measure"))
    assert [m["response"] for m in messages] == ["utter_measure_not_found"]
    assert events == []


def test_a_family_question_describes_the_document_it_names():
    entities = [{"entity": "policy_family", "value": "private_economy_32", "start": 0, "end": 6}]
    messages, _ = run(answer_actions.ActionDescribeFamily(), tracker_for("民营经济32条是什么", "ask_family_overview", entities))
    assert len(messages) == 1
    overview = messages[0]
    assert overview["response"] == "utter_family_overview"
    assert overview["title"] == "《浙江省促进民营经济高质量发展若干措施》"
    assert overview["published"] == "2023年8月25日"
    assert overview["source_url"].startswith("http")


def test_a_family_question_without_a_family_asks_which_one():
    messages, _ = run(answer_actions.ActionDescribeFamily(), tracker_for("这个政策是什么", "ask_family_overview"))
    assert [m["response"] for m in messages] == ["utter_ask_which_family"]


def test_how_to_apply_leads_with_the_steps_and_the_department():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("首台套奖励怎么申请", "ask_how_to_apply"))
    assert messages[0]["response"] == "utter_measure_how"
    assert "首台（套）" in messages[0]["how_to_apply"] and messages[0]["department"]


def test_who_to_contact_names_the_department():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("以旧换新找哪个部门", "ask_contact"))
    assert messages[0]["response"] == "utter_measure_contact"
    assert "省商务厅" in messages[0]["department"]


def test_a_definition_is_looked_up_among_firm_categories_first():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("什么是小型微利企业", "ask_definition"))
    assert messages[0]["response"] == "utter_measure_answer"
    assert "300万元" in messages[0]["key_figure"]


def test_a_very_short_question_that_fits_several_measures_is_answered_and_offers_the_others():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("首台套", "ask_measure"))
    assert messages[0]["response"] == "utter_measure_answer" and "首台（套）" in messages[0]["title"]
    assert messages[-1]["response"] == "utter_clarify"
    buttons = messages[-1]["buttons"]
    assert 1 <= len(buttons) <= 3
    assert all(b["payload"].startswith('/choose_measure{"measure_id": "') for b in buttons)
    assert messages[0]["title"] not in [b["title"] for b in buttons]


def test_a_bare_follow_up_keeps_the_previous_topic_with_the_new_year():
    slots = {"last_question": "2024年8+4省级财政安排多少"}
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("那2025年呢", "nlu_fallback", slots=slots))
    assert any("1042.8亿元" in (m.get("key_figure") or m.get("summary") or "") for m in messages)


def test_a_new_question_with_a_year_is_not_taken_for_a_follow_up():
    slots = {"last_question": "雙尖雙領自籌比例是多少"}
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("２０２５年首台套奖励多少", "ask_measure", slots=slots))
    assert "200万元" in messages[0]["key_figure"]


def test_an_unclear_message_retrieval_cannot_place_gets_the_general_fallback():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("asdkjh qwe", "nlu_fallback"))
    assert [m["response"] for m in messages] == ["utter_default"]


def test_a_chosen_measure_is_answered_by_its_id():
    entities = [{"entity": "measure_id", "value": "e84-2025-trade-in"}]
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for('/choose_measure', "choose_measure", entities))
    assert "1200元" in messages[0]["key_figure"]


def test_staff_see_internal_notes_and_the_public_does_not(knowledge_base):
    from kb.models import Measure

    with knowledge_base.begin() as session:
        measure = session.get(Measure, "e84-2025-trade-in")
        measure.internal_note = "商务厅窗口周三下午集中受理"
        measure.internal_contact = "张科长 0571-0000"
    chosen = [{"entity": "measure_id", "value": "e84-2025-trade-in"}]
    staff, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("/choose_measure", "choose_measure", chosen,
                                                              metadata={"role": "staff"}, channel="dingtalk"))
    public, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("/choose_measure", "choose_measure", chosen))
    # A role in metadata from a channel the public writes to (REST, socket.io) is not trusted.
    forged, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("/choose_measure", "choose_measure", chosen,
                                                               metadata={"role": "staff"}, channel="rest"))
    assert {"utter_measure_staff_note", "utter_measure_staff_contact"} <= {m["response"] for m in staff}
    for reply in (public, forged):
        assert not {m["response"] for m in reply} & {"utter_measure_staff_note", "utter_measure_staff_contact"}


def test_an_unanswered_question_and_a_handoff_are_logged_for_staff(knowledge_base):
    from sqlalchemy import select

    from kb.models import AskedQuestion

    run(answer_actions.ActionAnswerMeasure(), tracker_for("跨境电商海外仓补助多少", "ask_measure"))
    messages, _ = run(answer_actions.ActionHandoff(), tracker_for("转人工", "handoff"))
    assert [m["response"] for m in messages] == ["utter_handoff"]
    with knowledge_base() as session:
        logged = [(q.kind, q.channel, q.text) for q in session.execute(select(AskedQuestion)).scalars()]
    assert logged == [("unanswered", "rest", "跨境电商海外仓补助多少"), ("handoff", "rest", "转人工")]


def test_the_packages_of_an_edition_are_listed():
    messages, _ = run(answer_actions.ActionList(), tracker_for("2025年8+4有哪些政策包", "ask_list"))
    assert messages[0]["response"] == "utter_list"
    assert "先进制造业发展" in messages[0]["items"] and "2025" in messages[0]["title"]


def test_the_32_measures_aspects_are_listed():
    messages, _ = run(answer_actions.ActionList(), tracker_for("32条有哪几个方面", "ask_list"))
    assert any("提信心增预期" in m["items"] and "优氛围增服务" in m["items"] for m in messages)


def test_a_figure_is_compared_across_editions():
    messages, _ = run(answer_actions.ActionChanges(), tracker_for("三个70%后来改成多少了", "ask_changes"))
    assert messages[0]["response"] == "utter_changes"
    lines = messages[0]["lines"]
    assert "70%" in lines and "80%" in lines
    assert lines.index("70%") < lines.index("80%")


def test_a_single_category_check_asks_only_for_the_missing_facts():
    text = "我们算小型微利企业吗？我们有85个人"
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for(text, "ask_eligibility"))
    slots = {e["name"]: e["value"] for e in events}
    assert slots["eligibility_scope"] == "category:小型微利企业"
    assert slots["firm_facts"]["employees"] == 85
    assert slots["asked_field"] in ("taxable_income", "total_assets")
    assert messages[-1]["response"] == "utter_ask_fact"

    facts = {"employees": 85, "taxable_income": 280}
    answer = tracker_for("资产总额4000万", "inform", slots={**slots, "firm_facts": facts, "asked_field": "total_assets"})
    messages, events = run(eligibility.ActionCheckEligibility(), answer)
    assert messages[-1]["response"] == "utter_category_yes"
    assert "5000万元" in messages[-1]["reasons"]


def test_a_correction_replaces_the_fact_and_redecides():
    slots = {"eligibility_scope": "category:小型微利企业", "asked_field": None,
             "firm_facts": {"employees": 85, "taxable_income": 280, "total_assets": 4000}}
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("不对，我们有320人", "inform", slots=slots))
    facts = next(e["value"] for e in events if e["name"] == "firm_facts")
    assert facts["employees"] == 320
    assert messages[-1]["response"] == "utter_category_no"
    assert "300人" in messages[-1]["reasons"]


def test_an_unknown_fact_can_be_skipped_and_an_impossible_one_is_questioned():
    slots = {"eligibility_scope": "category:小型微利企业", "asked_field": "taxable_income",
             "firm_facts": {"employees": 85}}
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("不知道", "skip", slots=slots))
    skipped = next(e["value"] for e in events if e["name"] == "skipped_fields")
    assert skipped == ["taxable_income"]
    slots["asked_field"] = "employees"
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("-5人", "inform", slots=slots))
    assert messages[0]["response"] == "utter_fact_problem" and events == []


def test_questions_about_other_provinces_are_out_of_scope():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("上海的专精特新奖励多少", "ask_measure"))
    assert [(m["response"], m["region"]) for m in messages] == [("utter_out_of_scope_region", "上海")]


@pytest.mark.parametrize("text", ["今天杭州天气怎么样", "帮我看看茅台股票还能不能买", "个人所得税怎么算", "帮我写一段Python代码",
                                  "你是谁开发的"])
def test_off_topic_questions_get_the_out_of_scope_line(text):
    messages, events = run(answer_actions.ActionAnswerMeasure(), tracker_for(text, "out_of_scope"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"] and events == []


def test_a_policy_question_taken_for_out_of_scope_is_answered_from_the_knowledge_base():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("社保科创基金首期规模", "out_of_scope"))
    assert messages[0]["response"] == "utter_measure_answer"
    assert "500亿元" in " ".join(str(v) for m in messages for v in m.values())


def test_an_article_is_found_by_its_number_or_said_to_be_missing():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("32条第2条讲啥", "ask_measure"))
    assert messages[0]["title"] == "加大产业基金支持力度"
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("32条第15条是什么", "ask_measure"))
    assert messages[0]["response"] == "utter_article_text_missing" and messages[0]["number"] == 15


def test_a_stray_fact_less_message_outside_the_dialogue_is_answered_as_a_question():
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("浙里找地是干嘛的", "inform"))
    assert [e["name"] for e in events] == ["last_question"]
    assert messages[0]["response"] != "utter_ask_fact"


def test_a_yes_no_question_about_one_measure_is_answered_not_profiled():
    text = "我是开小饭馆的个体户，去年应纳税所得额150万，个税能减半吗"
    messages, _ = run(eligibility.ActionCheckEligibility(), tracker_for(text, "ask_eligibility"))
    assert messages[0]["response"] == "utter_measure_answer"
    assert "200万元" in messages[0]["key_figure"] + messages[0]["summary"]


def test_the_factor_lists_come_from_the_newest_edition_that_names_them():
    messages, _ = run(answer_actions.ActionList(), tracker_for("8+4里的4张清单是啥", "ask_list"))
    assert "财政金融" in messages[0]["items"] and "清单" in messages[0]["title"]


def test_which_items_a_measure_names_is_answered_from_the_measure():
    messages, _ = run(answer_actions.ActionList(), tracker_for("3个70%指哪三个", "ask_list"))
    assert messages[0]["response"] in ("utter_measure_answer", "utter_clarify")
    assert "70%" in messages[0].get("key_figure", "") or any("70%" in b["title"] for b in messages[0]["buttons"])


def test_a_family_question_about_one_of_its_facts_adds_that_fact():
    entities = [{"entity": "policy_family", "value": "eight_plus_four"}]
    messages, _ = run(answer_actions.ActionDescribeFamily(), tracker_for("2026年8+4发布会是哪天", "ask_family_overview",
                                                                   entities))
    assert [m["response"] for m in messages] == ["utter_family_overview", "utter_list"]
    assert messages[1]["items"] == "2026年2月26日"


def test_a_fragment_tagged_as_a_family_is_ignored_and_the_first_name_decides():
    entities = [{"entity": "policy_family", "value": "5+4"}, {"entity": "policy_family", "value": "eight_plus_four"}]
    messages, _ = run(answer_actions.ActionDescribeFamily(), tracker_for("5+4是啥？跟8+4什么关系", "ask_family_overview",
                                                                   entities))
    assert messages[0]["response"] == "utter_family_overview"
    assert "稳进提质" in messages[0]["name"] and "2023年起" in messages[0]["summary"]


def test_a_question_taken_for_a_family_overview_without_a_family_is_answered_from_the_measures():
    messages, _ = run(answer_actions.ActionDescribeFamily(), tracker_for("民营经济增加值占GDP 2027年目标是多少",
                                                                   "ask_family_overview"))
    assert messages[0]["response"] == "utter_measure_answer" and "68%" in messages[0]["key_figure"]


def test_a_changes_question_that_compares_nothing_is_answered_as_a_fact():
    messages, _ = run(answer_actions.ActionChanges(), tracker_for("三个到位计划里到2027年专精特新小巨人目标多少家",
                                                           "ask_changes"))
    assert messages[0]["response"] == "utter_measure_answer"
    assert messages[0]["key_figure"].startswith("国家级专精特新“小巨人”累计（2027）：2300家以上")


def test_two_things_compared_get_their_description_not_years():
    messages, _ = run(answer_actions.ActionChanges(), tracker_for("尖兵和领雁有啥区别", "ask_changes"))
    assert messages[0]["response"] == "utter_family_overview"
    assert "省重大科技计划" in messages[0]["summary"] and "省应用基础研究计划" in messages[0]["summary"]


def test_a_how_question_about_the_years_follows_the_recorded_history():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("尖兵领雁申报平台这几年换过吗", "ask_how_to_apply"))
    assert [m["response"] for m in messages] == ["utter_changes"]
    assert all(p in messages[0]["lines"] for p in ("科技攻关在线", "科技大脑", "科技管理平台"))


def test_a_before_and_after_question_gets_the_recorded_figures_by_year():
    messages, _ = run(answer_actions.ActionAnswerMeasure(),
                      tracker_for("电动自行车以旧换新补贴比例以前是多少现在是多少", "ask_changes"))
    assert [m["response"] for m in messages] == ["utter_changes"]
    assert "2024年" in messages[0]["lines"] and "20%" in messages[0]["lines"] and "40%" in messages[0]["lines"]


def test_a_history_question_with_a_second_question_also_gets_the_current_measure():
    text = "以前电动自行车换新只补20%，现在提高了吗？手机、平板能补吗，多少钱以下的能补？"
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for(text, "ask_changes"))
    assert [m["response"] for m in messages][:2] == ["utter_changes", "utter_measure_answer"]
    assert "6000" in messages[1]["summary"] or "6000" in (messages[1]["key_figure"] or "")


def test_a_how_question_on_a_measure_without_a_procedure_still_gets_the_figure_asked_for():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("我们公司在淳安，报尖兵项目自筹要多少", "ask_how_to_apply"))
    responses = [m["response"] for m in messages]
    assert responses[:2] == ["utter_measure_answer", "utter_measure_how_missing"]
    assert "60%" in messages[0]["key_figure"]


def test_a_follow_up_of_scaffolding_only_keeps_the_previous_topic():
    slots = {"last_question": "首台套奖励多少"}
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("找哪个部门", "ask_contact", slots=slots))
    assert messages[0]["response"] == "utter_measure_contact" and "经信厅" in messages[0]["department"]


def test_a_measure_answer_adds_the_line_of_its_note_the_question_asks_about():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("评上省级智能工厂省里奖多少钱", "ask_measure"))
    assert messages[0]["response"] == "utter_measure_answer"
    fact = next(m for m in messages if m["response"] == "utter_list")
    assert "市县" in fact["items"] and fact["title"].endswith("说明")


def test_an_outline_measure_still_says_where_to_go():
    messages, _ = run(answer_actions.ActionAnswerMeasure(), tracker_for("招投标里限定所有制怎么办", "ask_measure"))
    assert messages[0]["response"] == "utter_measure_outline"
    assert any("投诉" in m.get("how_to_apply", "") for m in messages)


def test_a_firm_describing_itself_by_a_category_is_answered_about_what_it_asks():
    text = "我们是专精特新，一直租厂房没有自有用地，想扩产，能优先给我们供地吗"
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for(text, "ask_eligibility"))
    assert messages[0]["response"] != "utter_eligibility_intro"
    assert "浙里找地" in messages[0]["summary"]


def test_a_category_check_shows_the_categorys_conditions_first():
    text = "我们去年营收800万，研发120万，能申请专精特新吗"
    messages, _ = run(eligibility.ActionCheckEligibility(), tracker_for(text, "ask_eligibility"))
    assert messages[0]["response"] == "utter_measure_answer"
    assert "1000万元" in messages[0]["summary"] and "2000万元" in messages[0]["summary"]


def test_both_halves_of_8_plus_4_are_listed_even_when_the_edition_lacks_its_factor_lists():
    messages, _ = run(answer_actions.ActionList(), tracker_for("八加四到底是哪8个哪4个", "ask_list"))
    assert [m["response"] for m in messages] == ["utter_list", "utter_list"]
    assert "政策包" in messages[0]["title"] and "财政金融" in messages[1]["items"]
