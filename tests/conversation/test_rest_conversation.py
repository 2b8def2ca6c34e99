"""Chatting in Chinese through the REST channel with a real model and real servers."""

from __future__ import annotations

import re

import pytest
import requests

pytestmark = pytest.mark.conversation

URL = re.compile(r"https?://\S+")


def test_asking_what_the_32_measures_are_names_the_document_and_its_link(assistant):
    texts = assistant.texts("firm-32", "民营经济32条是什么")
    assert len(texts) == 1
    assert "《浙江省促进民营经济高质量发展若干措施》" in texts[0]
    assert "2023年8月25日" in texts[0]
    assert URL.search(texts[0])


def test_a_measure_question_gets_the_figure_the_department_and_the_source(assistant):
    texts = assistant.texts("firm-first-set", "首台套奖励多少")
    reply = "\n".join(texts)
    assert "200万元" in reply
    assert "省经信厅" in reply
    assert URL.search(reply)


def test_asking_how_to_apply_for_shuangjian_shuangling_gets_steps_and_source(assistant):
    reply = "\n".join(assistant.texts("firm-sjsl", "双尖双领怎么申报"))
    assert "双尖双领" in reply or "尖兵" in reply
    assert "科技" in reply
    assert URL.search(reply)


def test_greeting_thanks_and_goodbye_get_their_replies(assistant):
    assert "惠企政策助手" in assistant.texts("firm-chat", "你好")[0]
    assert "不客气" in assistant.texts("firm-chat", "谢谢")[0]
    assert "再见" in assistant.texts("firm-chat", "再见")[0]


def test_the_greeting_offers_example_questions_as_buttons(assistant):
    buttons = assistant.send("firm-buttons", "您好")[0].get("buttons", [])
    assert "首台套奖励多少" in [b["payload"] for b in buttons]


@pytest.mark.parametrize("text", ["今天天气怎么样", "帮我写一段Python代码", "asdkjh qwe"])
def test_off_topic_or_unclear_messages_get_a_polite_chinese_reply(assistant, text):
    texts = assistant.texts("firm-off-topic", text)
    assert texts and re.search(r"[\u4e00-\u9fff]", texts[0])
    assert "8+4" in texts[0] or "换个说法" in texts[0]


def test_a_question_the_knowledge_base_cannot_answer_says_so(assistant):
    texts = assistant.texts("firm-unknown", "跨境电商海外仓补助多少")
    assert len(texts) == 1 and "没有找到" in texts[0]


def test_the_conversation_is_kept_in_the_tracker_store(assistant):
    assistant.texts("firm-kept", "首台套奖励多少")
    events = assistant.tracker_events("firm-kept")
    said = [e.get("text") for e in events if e["event"] == "user"]
    assert said == ["首台套奖励多少"]
    assert any(e["event"] == "bot" and "200万元" in (e.get("text") or "") for e in events)


def test_the_web_app_reports_the_knowledge_base_and_rasa(assistant):
    settings = assistant.settings
    health = requests.get(f"{settings.web_url}/health", timeout=10).json()
    assert health["status"] == "ok" and health["rasa"] is True
    assert health["kb_revision"] >= 1
    assert health["kb"]["private_economy_32"]["measures"] >= 3
