"""Actions read the tracker, ask kb once and utter responses by name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import answer as answer_actions
from actions import eligibility
from actions import question as question_actions


@pytest.fixture(autouse=True)
def knowledge_base(seeded, db_url, monkeypatch):
    monkeypatch.setenv("HUIQI_DB_URL", db_url)
    yield seeded


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


def said(messages: list[dict]) -> str:
    """The messages as the user reads them: each response's text filled with the values the action gave."""
    out = []
    for message in messages:
        template = DOMAIN["responses"][message["response"]][0]["text"]
        values = {k: v for k, v in message.items() if k not in ("response", "template", "buttons")}
        out.append(template.format_map(values) if "{" in template else template)
        out.extend(b["title"] for b in message.get("buttons") or [])
    return "\n".join(out)


def context_of(events: list[dict]) -> dict | None:
    return next((e["value"] for e in events if e.get("name") == "answer_context"), None)


def test_a_question_is_answered_with_the_figure_first_and_the_source_last():
    messages, events = run(question_actions.ActionAnswer(), tracker_for("国际首台套能奖励多少", "ask_measure"))
    text = said(messages)
    assert "200万元" in text.split("\n")[0]
    assert text.split("\n")[-1].startswith("出处：") and "http" in text.split("\n")[-1]
    assert context_of(events)["unit"]  # what a follow-up continues from


def test_the_topic_of_the_last_answer_carries_a_bare_follow_up_through_the_slot():
    _, events = run(question_actions.ActionAnswer(), tracker_for("2024年8+4省里一共拿出多少财政资金", "ask_measure"))
    follow = tracker_for("那25年呢", "nlu_fallback", slots={"answer_context": context_of(events)})
    messages, _ = run(question_actions.ActionAnswer(), follow)
    assert "1042.8亿元" in said(messages).split("\n")[0]


def test_a_question_nothing_in_the_knowledge_base_answers_is_logged_for_staff(knowledge_base):
    from sqlalchemy import select

    from kb.store.models import AskedQuestion

    messages, events = run(question_actions.ActionAnswer(), tracker_for("宠物医院开业需要办哪些证", "out_of_scope"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"] and events == []
    messages, _ = run(answer_actions.ActionHandoff(), tracker_for("我要找真人", "handoff"))
    assert [m["response"] for m in messages] == ["utter_handoff"]
    with knowledge_base() as session:
        logged = [(q.kind, q.channel, q.text) for q in session.execute(select(AskedQuestion)).scalars()]
    assert logged == [("unanswered", "rest", "宠物医院开业需要办哪些证"), ("handoff", "rest", "我要找真人")]


def test_gibberish_gets_the_general_fallback():
    messages, _ = run(question_actions.ActionAnswer(), tracker_for("qwpo zxmn", "nlu_fallback"))
    assert [m["response"] for m in messages] == ["utter_default"]


def test_a_chosen_measure_is_answered_by_its_id():
    entities = [{"entity": "measure_id", "value": "e84-2025-trade-in"}]
    messages, events = run(question_actions.ActionAnswer(), tracker_for("/choose_measure", "choose_measure", entities))
    assert "以旧换新" in said(messages).split("\n")[0]
    assert context_of(events)["unit"] == "m:e84-2025-trade-in"


def test_buttons_offered_for_an_unclear_question_choose_a_measure_by_id():
    messages, _ = run(question_actions.ActionAnswer(), tracker_for("补贴", "ask_measure"))
    buttons = [b for m in messages for b in m.get("buttons") or []]
    assert 1 <= len(buttons) <= 3 and all(b["payload"].startswith('/choose_measure{"measure_id": "') for b in buttons)


def test_staff_see_internal_notes_only_through_dingtalk(knowledge_base):
    from kb.store.models import Measure

    with knowledge_base.begin() as session:
        measure = session.get(Measure, "e84-2025-trade-in")
        measure.internal_note = "商务厅窗口周三下午集中受理"
        measure.internal_contact = "张科长 0571-0000"
    chosen = [{"entity": "measure_id", "value": "e84-2025-trade-in"}]
    staff, _ = run(question_actions.ActionAnswer(), tracker_for("/choose_measure", "choose_measure", chosen,
                                                              metadata={"role": "staff"}, channel="dingtalk"))
    public, _ = run(question_actions.ActionAnswer(), tracker_for("/choose_measure", "choose_measure", chosen))
    # A role in metadata from a channel the public writes to (REST, socket.io) is not trusted.
    forged, _ = run(question_actions.ActionAnswer(), tracker_for("/choose_measure", "choose_measure", chosen,
                                                               metadata={"role": "staff"}, channel="socketio"))
    assert "商务厅窗口周三下午集中受理" in said(staff) and "张科长" in said(staff)
    for reply in (public, forged):
        assert "集中受理" not in said(reply) and "张科长" not in said(reply)


def test_questions_about_other_provinces_are_out_of_scope():
    messages, _ = run(question_actions.ActionAnswer(), tracker_for("山东的小巨人奖励多少", "ask_measure"))
    assert [(m["response"], m["region"]) for m in messages] == [("utter_out_of_scope_region", "山东")]


def test_a_single_category_check_asks_only_for_the_missing_facts():
    text = "我们算小型微利企业吗？我们有85个人"
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for(text, "ask_eligibility"))
    slots = {e["name"]: e["value"] for e in events}
    assert slots["eligibility_scope"] == "measure:fc-xxwl"  # the category's measure: conditions and benefit
    assert slots["firm_facts"]["employees"] == 85
    assert slots["asked_field"] in ("industry", "taxable_income", "total_assets")
    assert messages[-1]["response"] == "utter_ask_fact"

    facts = {"employees": 85, "taxable_income": 280, "industry": "纺织"}
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


def test_a_stray_fact_less_message_outside_the_dialogue_is_answered_as_a_question():
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("浙里找地是干嘛的", "inform"))
    assert [e["name"] for e in events] == ["answer_context"]
    assert messages[0]["response"] != "utter_ask_fact"


def test_a_yes_no_question_about_one_measure_is_answered_not_profiled():
    text = "我是开小饭馆的个体户，去年应纳税所得额150万，个税能减半吗"
    messages, _ = run(eligibility.ActionCheckEligibility(), tracker_for(text, "ask_eligibility"))
    assert messages[0]["response"] == "utter_answer"
    assert "200万元" in said(messages[:1])


def test_a_firm_describing_itself_by_a_category_is_answered_about_what_it_asks():
    text = "我们是专精特新，一直租厂房没有自有用地，想扩产，能优先给我们供地吗"
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for(text, "ask_eligibility"))
    assert messages[0]["response"] != "utter_eligibility_intro"
    assert "浙里找地" in said(messages)


def test_a_category_check_shows_the_categorys_conditions_first():
    text = "我们去年营收800万，研发120万，能申请专精特新吗"
    messages, _ = run(eligibility.ActionCheckEligibility(), tracker_for(text, "ask_eligibility"))
    assert messages[0]["response"] == "utter_answer"
    assert "1000万元" in said(messages[:1])




def test_a_bare_figure_correcting_an_earlier_one_replaces_the_fact_of_its_kind():
    slots = {"eligibility_scope": "category:小型微利企业", "asked_field": "total_assets",
             "firm_facts": {"employees": 40, "taxable_income": 90}}
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("搞错了，应该是360万", "inform", slots=slots))
    facts = next(e["value"] for e in events if e.get("name") == "firm_facts")
    assert facts["taxable_income"] == 360 and "total_assets" not in facts
    assert "不属于" in said(messages) and "300万元" in said(messages)


def test_a_message_only_describing_the_firm_is_taken_into_the_dialogue_not_answered_as_a_question():
    messages, events = run(question_actions.ActionAnswer(), tracker_for("我司在缙云，做五金工具的，四十来号人", "ask_measure"))
    slots = {e["name"]: e["value"] for e in events}
    assert slots["firm_facts"]["region"] == "丽水市缙云县" and slots["asked_field"]
    assert messages[-1]["response"] == "utter_ask_fact"


def test_facts_the_firm_states_in_a_question_are_kept_for_later():
    messages, events = run(question_actions.ActionAnswer(),
                           tracker_for("我们公司在开化，首台套保险补偿比例是多少", "ask_measure"))
    slots = {e["name"]: e["value"] for e in events}
    assert "%" in said(messages)  # the question is answered
    assert slots["firm_facts"]["region"] == "衢州市开化县"


def test_a_category_verdict_names_what_the_firm_gets_before_why():
    slots = {"eligibility_scope": "measure:fc-xxwl", "asked_field": "total_assets",
             "firm_facts": {"employees": 30, "taxable_income": 45, "industry": "家具制造"}}
    messages, _ = run(eligibility.ActionCheckEligibility(), tracker_for("资产1800万", "inform", slots=slots))
    first = said(messages[-1:]).split("\n")[0]
    assert "25%" in first and "20%" in first


def test_naming_another_category_mid_dialogue_checks_that_one():
    slots = {"eligibility_scope": "category:科技型中小企业", "asked_field": None, "eligibility_done": True,
             "firm_facts": {"employees": 90, "revenue": 6000}}
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("那高企呢？", "ask_eligibility", slots=slots))
    scope = next(e["value"] for e in events if e.get("name") == "eligibility_scope")
    assert scope != "category:科技型中小企业"


def test_a_question_naming_a_title_or_a_project_kind_is_answered_not_taken_for_a_description():
    for text in ("省级专精特新评审要等多久", "数字化车间的投资算不算设备租赁"):
        messages, events = run(question_actions.ActionAnswer(), tracker_for(text, "ask_measure"))
        assert messages[0]["response"] != "utter_eligibility_intro"
        assert not any(e.get("name") == "eligibility_scope" for e in events)


def test_a_lone_fact_right_after_an_answer_on_a_measure_is_judged_on_that_measure():
    context = {"unit": "m:fc-kjxzx", "topic": [], "tokens": [], "documents": [], "families": [], "year": None,
               "wanted": [], "items": []}
    messages, events = run(eligibility.ActionCheckEligibility(),
                           tracker_for("职工有六百三十人", "inform", slots={"answer_context": context}))
    slots = {e["name"]: e["value"] for e in events}
    assert slots["eligibility_scope"] == "measure:fc-kjxzx"
    text = said(messages)
    assert "不属于" in text and "630人" in text and "500人" in text  # the firm's figure beside the condition


def test_a_what_if_figure_rejudges_with_it():
    slots = {"eligibility_scope": "measure:fc-gsgy", "asked_field": None, "eligibility_done": True,
             "firm_facts": {"industry": "金属制品", "revenue": 1700}}
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("要是明年做到2300万呢", "inform", slots=slots))
    facts = next(e["value"] for e in events if e.get("name") == "firm_facts")
    assert facts["revenue"] == 2300 and "不属于" not in said(messages)


def test_a_question_about_a_titles_requirement_with_a_firm_figure_is_checked_on_that_title():
    # The title is asked about, not held: the firm's revenue puts it in the 5000万至1亿元 tier (6%), and the
    # dialogue goes on with what that title still needs, not with which titles the firm holds.
    messages, events = run(eligibility.ActionCheckEligibility(), tracker_for("小巨人对研发投入占比的要求，我们营收九千万", "inform"))
    text = said(messages)
    assert "不低于6%" in text and "已经拿到哪些资质" not in text
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["eligibility_scope"] == "measure:fc-xjr" and slots["asked_field"] != "certifications"
