"""The profile dialogue as an action: any fact at any turn, never a fact asked twice, a short result."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import answer, eligibility

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def knowledge_base(seeded, db_url, monkeypatch):
    monkeypatch.setenv("HUIQI_DB_URL", db_url)
    yield seeded


def tracker_for(text: str, intent: str, slots: dict | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": [], "metadata": {}}
    events = [{"event": "user", "text": text, "input_channel": "rest", "parse_data": message}]
    return Tracker("test-user", slots or {}, message, events, False, None, {}, "action_listen")


def run(tracker: Tracker) -> tuple[list, dict]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(eligibility.ActionCheckEligibility().run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def talk(turns: list[tuple[str, str]]) -> tuple[list[list], dict, list[str]]:
    """Run a dialogue; returns every turn's messages, the final slots and the fields asked, in order."""
    slots: dict = {}
    replies, asked = [], []
    for text, intent in turns:
        messages, changed = run(tracker_for(text, intent, slots))
        slots.update(changed)
        replies.append(messages)
        if changed.get("asked_field") and messages and messages[-1]["response"] == "utter_ask_fact":
            asked.append(changed["asked_field"])
    return replies, slots, asked


def test_a_reply_that_gives_other_facts_is_accepted_and_no_fact_is_asked_twice():
    replies, slots, asked = talk([
        ("我们想看看能享受哪些政策", "ask_eligibility"),
        ("在湖州德清，做五金配件的，员工九十来个，今年营收估计四千万", "inform"),
        ("去年的应纳税所得额一百二十万，资产三千五百万左右，没有任何资质", "inform"),
    ])
    facts = slots["firm_facts"]
    assert facts["region"] == "湖州市德清县" and facts["employees"] == 90 and facts["certifications"] == []
    assert all(m["response"] != "utter_fact_problem" for turn in replies for m in turn)
    assert len(asked) == len(set(asked))
    # Nothing the firm has already said is asked after it said it (asked[k] follows message k + 1).
    said_by_turn = [set(), {"region", "employees", "revenue", "industry"},
                    {"region", "employees", "revenue", "industry", "taxable_income", "total_assets", "certifications"}]
    assert all(field not in said_by_turn[k] for k, field in enumerate(asked[:3]))


def test_the_result_is_short_with_a_button_and_the_full_list_on_request():
    slots = {"eligibility_scope": "all", "asked_field": None, "questions_asked": 6.0,
             "firm_facts": {"region": "丽水市松阳县", "industry": "金属制品", "employees": 60, "revenue": 3000,
                            "taxable_income": 90, "total_assets": 1800, "certifications": []}}
    messages, changed = run(tracker_for("刚才说的都对", "inform", slots))
    summary = messages[-1]
    assert summary["response"] == "utter_eligibility_summary" and changed["eligibility_done"] is True
    text = DOMAIN["responses"]["utter_eligibility_summary"][0]["text"].format(**summary)
    assert len(text.splitlines()) <= 9
    slots.update(changed)
    messages, _ = run(tracker_for("/show_results", "show_results", slots))
    assert messages[-1]["response"] == "utter_eligibility_result"
    assert messages[-1]["lines"].count("\n") > text.count("\n") - 3


def test_skipping_after_the_result_does_not_repeat_it():
    slots = {"eligibility_scope": "all", "asked_field": None, "eligibility_done": True,
             "firm_facts": {"employees": 60}}
    messages, changed = run(tracker_for("跳过", "skip", slots))
    assert [m["response"] for m in messages] == ["utter_eligibility_already"] and changed == {}


def test_a_state_owned_firm_is_told_why_a_private_only_measure_is_out():
    slots = {"eligibility_scope": "all", "asked_field": None, "eligibility_done": True,
             "firm_facts": {"ownership": "国有", "region": "宁波市北仑区", "employees": 500}}
    messages, _ = run(tracker_for("全部结果", "show_results", slots))
    assert "暂不符合" in messages[-1]["lines"] and "民营" in messages[-1]["lines"]


def test_the_dialogue_resumes_after_a_question_answered_midway():
    dispatcher = CollectingDispatcher()
    tracker = tracker_for("首台套奖励多少", "ask_measure", {"asked_field": "total_assets", "eligibility_done": False})
    assert answer.resume_after_answer(dispatcher, tracker, DOMAIN) == []
    assert dispatcher.messages[0]["response"] == "utter_eligibility_resume"
    assert "资产总额" in dispatcher.messages[0]["question"]
    done = tracker_for("首台套奖励多少", "ask_measure", {"asked_field": None, "eligibility_done": True})
    dispatcher = CollectingDispatcher()
    assert answer.resume_after_answer(dispatcher, done, DOMAIN) == [] and dispatcher.messages == []


def test_a_dont_know_that_still_gives_a_figure_gives_it_and_what_it_settles_is_said_at_once():
    replies, slots, asked = talk([
        ("小本生意有没有什么优惠可以享受", "ask_eligibility"),
        ("金华兰溪的，开理发店，个体户", "inform"),
        ("这个说不清，会计在管，反正一年挣个六七十万", "skip"),
    ])
    assert slots["firm_facts"]["taxable_income"] == 65  # 六七十万: the middle of 60–70万
    assert "taxable_income" not in slots["skipped_fields"]
    said = [m for turn in replies[1:] for m in turn if m["response"] == "utter_eligibility_progress"]
    assert said and "个税减半" in " ".join(m["items"] for m in said)


def test_a_question_in_the_middle_is_answered_and_the_pending_fact_asked_again():
    slots = {"eligibility_scope": "all", "asked_field": "industry", "firm_facts": {"revenue": 9000},
             "eligibility_done": False}
    messages, _ = run(tracker_for("那科技人员占比要求多少呢", "inform", slots))
    responses = [m["response"] for m in messages]
    assert "utter_fact_problem" not in responses
    assert responses[-1] == "utter_eligibility_resume" and "行" in messages[-1]["question"]


def test_an_estimate_near_a_threshold_is_not_asked_again_and_a_correction_beside_another_fact_replaces_it():
    replies, slots, asked = talk([
        ("帮我们看看算不算规模以上工业", "ask_eligibility"),
        ("做汽车配件的工厂，一年销售额差不多1950万吧", "inform"),
        ("抱歉刚才记错了，是两千三百万，注册的是股份公司", "inform"),
    ])
    facts = slots["firm_facts"]
    assert facts["revenue"] == 2300 and facts["entity_type"] == "股份有限公司"
    assert asked.count("revenue") <= 1 and len(asked) == len(set(asked))
    assert all(m["response"] != "utter_fact_problem" for turn in replies for m in turn)


def test_an_open_question_in_casual_words_starts_the_profile_dialogue():
    messages, slots = run(tracker_for("我们在宁波做注塑件的，看看能拿到啥补贴", "ask_eligibility"))
    assert slots.get("eligibility_scope") == "all"
    assert messages and messages[-1]["response"] == "utter_ask_fact"
