"""A firm telling about itself, outside the eligibility dialogue, through the real servers."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.conversation


def test_a_message_only_describing_the_firm_starts_the_dialogue_and_its_facts_are_not_asked_again(assistant):
    sender = "firm-describes-itself"
    first = assistant.reply(sender, "我们在泰顺，做电线电缆的民营厂")
    assert "好的" in first and ("？" in first or "?" in first)  # acknowledged, then one deciding question
    assert "哪个县" not in first and "哪一行" not in first
    later = assistant.reply(sender, "能申报数字化车间吗")
    assert "哪个县" not in later and "1500万" in later  # 泰顺 is a 山区海岛县: its own threshold


def test_a_fact_given_right_after_a_question_on_a_measure_is_judged_on_that_measure(assistant):
    sender = "firm-fact-after-question"
    assistant.texts(sender, "科技型中小企业入库对职工人数有要求吗")
    reply = assistant.reply(sender, "我们有620人")
    assert "科技型中小企业" in reply and "500人" in reply and "不属于" in reply


def test_facts_the_firm_states_inside_a_question_are_kept_for_the_dialogue(assistant):
    sender = "firm-fact-in-question"
    assistant.texts(sender, "我们厂在龙泉，智能工厂的投资门槛是多少")
    reply = assistant.reply(sender, "那我们能申报智能工厂吗")
    assert "哪个县" not in reply


def test_a_question_the_classifier_may_take_for_small_talk_is_answered(assistant):
    reply = assistant.reply("firm-not-goodbye", "2029年版8+4的文件发了吗")
    assert "再见" not in reply and "2029" in reply


def test_a_greeting_that_holds_a_question_is_greeted_and_answered(assistant):
    reply = assistant.reply("firm-greeting-question", "你好你好，我想了解下高新技术企业的税率")
    assert "惠企政策助手" in reply and "15%" in reply
    assert assistant.texts("firm-greeting-only", "您好呀") == [assistant.texts("firm-greeting-again", "你好")[0]]
