"""Actions read the tracker, ask kb once and utter responses by name."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions


@pytest.fixture(autouse=True)
def knowledge_base(seeded, db_url, monkeypatch):
    monkeypatch.setenv("HUIQI_DB_URL", db_url)
    actions.sessions.cache_clear()
    yield
    actions.sessions.cache_clear()


def tracker_for(text: str, intent: str, entities: list[dict] | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": entities or []}
    return Tracker("test-user", {}, message, [], False, None, {}, "action_listen")


def run(action, tracker: Tracker) -> tuple[list, list]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_a_measure_question_is_answered_with_figure_source_and_department():
    messages, events = run(actions.ActionAnswerMeasure(), tracker_for("首台套奖励多少", "ask_measure"))
    assert events == []
    assert [m["response"] for m in messages] == ["utter_measure_answer", "utter_measure_apply"]
    answer = messages[0]
    assert "200万元" in answer["key_figure"]
    assert answer["source_url"] == "http://dunya.com.cn/news/detail-172611.html"
    assert answer["document"].startswith("《") and answer["document"].endswith("》")
    assert messages[1]["department"] == "省经信厅、省财政厅"


def test_an_outline_only_measure_says_so_and_points_to_the_official_text():
    messages, _ = run(actions.ActionAnswerMeasure(), tracker_for("政府采购有倾斜吗", "ask_measure"))
    assert messages[0]["response"] == "utter_measure_outline"
    assert messages[0]["document"] == "《浙江省促进民营经济高质量发展若干措施》"


def test_a_question_the_knowledge_base_cannot_match_gets_the_not_found_reply():
    messages, events = run(actions.ActionAnswerMeasure(), tracker_for("跨境电商海外仓补助多少", "ask_measure"))
    assert [m["response"] for m in messages] == ["utter_measure_not_found"]
    assert events == []


def test_a_family_question_describes_the_document_it_names():
    entities = [{"entity": "policy_family", "value": "private_economy_32", "start": 0, "end": 6}]
    messages, _ = run(actions.ActionDescribeFamily(), tracker_for("民营经济32条是什么", "ask_family_overview", entities))
    assert len(messages) == 1
    overview = messages[0]
    assert overview["response"] == "utter_family_overview"
    assert overview["title"] == "《浙江省促进民营经济高质量发展若干措施》"
    assert overview["published"] == "2023年8月25日"
    assert overview["source_url"].startswith("http")


def test_a_family_question_without_a_family_asks_which_one():
    messages, _ = run(actions.ActionDescribeFamily(), tracker_for("这个政策是什么", "ask_family_overview"))
    assert [m["response"] for m in messages] == ["utter_ask_which_family"]
