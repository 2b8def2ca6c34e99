"""The eligibility dialogue through the real servers: facts used, one deciding question at a time, corrections."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.conversation


def test_a_profile_dialogue_uses_given_facts_asks_only_deciding_ones_and_accepts_a_correction(assistant):
    sender = "firm-profile"
    first = assistant.reply(sender, "我们是丽水遂昌的民营金属制品厂，85个人，营收6800万，能享受什么？")
    # Facts already in the message are not asked again.
    for asked_already in ("哪个县", "多少员工", "营业收入大约多少", "民营、国有还是外资", "主要做哪一行"):
        assert asked_already not in first
    assert "？" in first or "?" in first

    answers = {"资质": "没有", "应纳税所得额": "200万", "资产总额": "4000万", "研发费用": "100万",
               "数字化": "不知道", "成立": "2010年", "股权融资": "0"}
    reply = first
    for _ in range(8):
        if "根据您提供的情况" in reply:
            break
        answer = next((a for key, a in answers.items() if key in reply), "不知道")
        reply = assistant.reply(sender, answer)
    assert "根据您提供的情况" in reply
    assert "员工人数：85人" in reply and "丽水市遂昌县" in reply
    assert "可以享受" in reply

    corrected = assistant.reply(sender, "不对，我们有320人")
    assert "员工人数：320人" in corrected or "320" in corrected


def test_a_single_measure_check_asks_only_that_measures_missing_facts(assistant):
    sender = "firm-single"
    reply = assistant.reply(sender, "我们算小型微利企业吗？做家具的，有85个人")
    assert "应纳税所得额" in reply or "资产总额" in reply
    for _ in range(3):
        if "小型微利企业" in reply and ("属于" in reply):
            break
        if "应纳税所得额" in reply:
            reply = assistant.reply(sender, "280万")
        elif "资产总额" in reply:
            reply = assistant.reply(sender, "4000万")
    assert "属于小型微利企业" in reply and "不属于" not in reply


def test_leaving_the_dialogue_for_a_question_keeps_the_facts(assistant):
    sender = "firm-switch"
    assistant.texts(sender, "我们算小型微利企业吗？做家具的，有85个人")
    detour = assistant.reply(sender, "首台套奖励多少")
    assert "200万元" in detour
    back = assistant.reply(sender, "应纳税所得额280万，资产总额4000万")
    assert "属于小型微利企业" in back
