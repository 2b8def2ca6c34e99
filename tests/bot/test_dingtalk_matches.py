"""The staff commands 新政策匹配 and 匹配 <措施> in DingTalk: answered by the connector, for staff and admins only."""

from __future__ import annotations

import random

import pytest

from bot import staff_commands
from bot.channels import dingtalk
from tests.bot.fake_dingtalk import FakeDingTalk, callback_body, signed_headers
from tests.bot.test_dingtalk import SECRET, EchoBot, channel_for, deliver
from tests.kb.test_firm_matches import credit_code, do_import, firms_yaml, measure_yaml


@pytest.fixture
def fake():
    with FakeDingTalk() as server:
        yield server


@pytest.fixture
def matched(seeded, db_url, monkeypatch, tmp_path):
    """A seeded knowledge base with three fresh firms and one imported measure with a rule, as the connector reads it."""
    monkeypatch.setenv("HUIQI_DB_URL", db_url)
    rng = random.Random()
    codes = {name: credit_code(rng) for name in ("small", "big", "unsaid")}
    limit = rng.randint(20, 200)
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    result = do_import(seeded, tmp_path, "m.yaml", measure_yaml("test-dt-grant", limit, title="测试用渔船更新补助"))
    yield codes, limit, result.revision_id


def ask(fake, text: str, staff_id: str, msg_id: str) -> tuple[str, EchoBot]:
    bot = EchoBot()
    fake.clear()
    deliver(channel_for(fake), callback_body(fake.webhook(), text, msg_id=msg_id, staff_id=staff_id),
            signed_headers(SECRET), bot)
    [body] = fake.bodies()
    return body["markdown"]["text"], bot


def test_staff_see_the_latest_matches_with_their_counts(matched, fake):
    _, _, revision = matched
    text, bot = ask(fake, "新政策匹配", "staff-001", "m-latest")
    assert bot.messages == []  # the connector answers, not Rasa
    assert text.startswith("**新政策匹配**（最近 1 次）")
    assert f"测试用渔船更新补助（test-dt-grant，修订 {revision}）：符合 1，很可能符合 0，待补充信息 1，不符合 1" in text


@pytest.mark.parametrize("command", ["匹配 test-dt-grant", "匹配：渔船更新", "匹配test-dt-grant"])
def test_staff_get_a_measures_firms_split_by_verdict_with_what_is_missing(matched, fake, command):
    codes, limit, revision = matched
    text, _ = ask(fake, command, "admin-001", "m-match")
    lines = text.split("  \n")
    assert lines[0] == f"**匹配企业：测试用渔船更新补助**（test-dt-grant，修订 {revision}，企业库 3 家）"
    assert lines[1:] == ["符合（1家）：", f"- 测试小企业{limit}（{codes['small']}）",
                         "很可能符合（0家）：",
                         "待补充信息（1家）：", f"- 测试未填人数企业{limit}（{codes['unsaid']}）：缺员工人数",
                         "不符合（1家）：", f"- 测试大企业{limit}（{codes['big']}）"]


def test_an_unknown_measure_is_said_plainly(matched, fake):
    text, _ = ask(fake, "匹配 没有这种补助", "staff-001", "m-none")
    assert text == staff_commands.MATCH_NOT_FOUND.format(query="没有这种补助")


@pytest.mark.parametrize("command, name", [("新政策匹配", "新政策匹配"), ("匹配 test-dt-grant", "匹配")])
def test_the_public_cannot_see_matches(matched, fake, command, name):
    text, bot = ask(fake, command, "stranger", "m-public")
    assert text == dingtalk.STAFF_ONLY_REPLY.format(command=name)
    assert "测试小企业" not in text and bot.messages == []


def test_a_question_that_merely_starts_with_the_word_goes_to_the_assistant(matched, fake):
    text, bot = ask(fake, "匹配的政策有哪些", "stranger", "m-question")
    assert [m.text for m in bot.messages] == ["匹配的政策有哪些"]
