"""The DingTalk connector without Rasa: signatures, replay, reply hosts, @mentions, roles and staff commands.

Replies go to a fake DingTalk endpoint on loopback; Rasa is replaced by a stub that echoes the text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels import dingtalk
from bot.channels.dingtalk import (
    DingTalkInput,
    Origin,
    SeenMessages,
    message_text,
    parse_reply_hosts,
    sign,
    split_reply,
    staff_ids_from_env,
    to_markdown,
    webhook_problem,
)
from kb.store.models import AskedQuestion, Document, Firm, Measure, StaffMember
from tests.bot.fake_dingtalk import FakeDingTalk, callback_body, dingtalk_sign, signed_headers

SECRET = "unit-test-app-secret"


@pytest.fixture
def kb(sessions, db_url, monkeypatch):
    """The connector's knowledge base: an empty one per test, reached through HUIQI_DB_URL as in production."""
    monkeypatch.setenv("HUIQI_DB_URL", db_url)
    yield sessions


@pytest.fixture
def fake():
    with FakeDingTalk() as server:
        yield server


class EchoBot:
    """Stands in for Rasa: answers every message with its text and remembers what it was given.

    Like Rasa, it sends through `send_response`, the one method the apology guard's wrapper forwards.
    """

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": f"收到：{message.text}"})


def channel_for(fake: FakeDingTalk, **kwargs) -> DingTalkInput:
    kwargs.setdefault("staff_ids", {"staff-001": "staff", "admin-001": "admin"})
    return DingTalkInput(app_key="ding-key", app_secret=kwargs.pop("app_secret", SECRET),
                         reply_hosts=[fake.origin], **kwargs)


def deliver(channel: DingTalkInput, body: dict | bytes, headers: dict, bot=None) -> tuple[int, dict]:
    """POST one callback to the connector and wait until its answer has gone out."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()

    async def run():
        result = await channel.handle_callback(headers, raw, bot or EchoBot())
        await channel.wait_idle()
        return result

    status, reply = asyncio.run(run())
    return int(status), reply


def markdown(text: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": "惠企政策助手", "text": text}}


# --- authenticity --------------------------------------------------------------------------------


def test_the_signature_is_dingtalks_base64_hmac_sha256_of_timestamp_newline_secret():
    assert sign("1577262236757", "this is secret") == dingtalk_sign("1577262236757", "this is secret")
    assert sign("1577262236757", "this is secret") != sign("1577262236758", "this is secret")


def test_a_correctly_signed_callback_gets_its_answer_as_markdown_at_the_session_webhook(kb, fake):
    channel, bot = channel_for(fake), EchoBot()
    status, reply = deliver(channel, callback_body(fake.webhook(), "首台套奖励多少", msg_id="m1"),
                            signed_headers(SECRET), bot)
    assert (status, reply) == (200, {"status": "accepted"})
    assert fake.bodies() == [markdown("收到：首台套奖励多少")]
    assert fake.received[0]["path"] == "/robot/sendBySession?session=sess1"
    assert [m.text for m in bot.messages] == ["首台套奖励多少"]


@pytest.mark.parametrize("headers", [
    pytest.param(lambda: {**signed_headers(SECRET), "sign": dingtalk_sign(str(int(time.time() * 1000)), "other")},
                 id="signed-with-another-secret"),
    pytest.param(lambda: {**signed_headers(SECRET), "sign": "bm90IGEgc2lnbmF0dXJl"}, id="garbage-sign"),
    pytest.param(lambda: signed_headers(SECRET, timestamp_ms=int(time.time() * 1000) - 61 * 60 * 1000),
                 id="timestamp-61-minutes-old"),
    pytest.param(lambda: signed_headers(SECRET, timestamp_ms=int(time.time() * 1000) + 61 * 60 * 1000),
                 id="timestamp-61-minutes-ahead"),
    pytest.param(lambda: {k: v for k, v in signed_headers(SECRET).items() if k != "sign"}, id="no-sign"),
    pytest.param(lambda: {k: v for k, v in signed_headers(SECRET).items() if k != "timestamp"}, id="no-timestamp"),
    pytest.param(lambda: {**signed_headers(SECRET), "timestamp": "yesterday"}, id="timestamp-not-a-number"),
])
def test_an_unsigned_or_stale_callback_is_rejected_and_nothing_is_sent(kb, fake, headers):
    bot = EchoBot()
    status, reply = deliver(channel_for(fake), callback_body(fake.webhook(), "你好", msg_id="m-bad"), headers(), bot)
    assert status == 401 and "error" in reply
    assert bot.messages == [] and fake.bodies() == []


def test_a_timestamp_59_minutes_old_is_still_accepted(kb, fake):
    headers = signed_headers(SECRET, timestamp_ms=int(time.time() * 1000) - 59 * 60 * 1000)
    assert deliver(channel_for(fake), callback_body(fake.webhook(), "你好", msg_id="m59"), headers)[0] == 200


def test_a_rejected_callback_does_not_use_up_its_msgid(kb, fake):
    channel = channel_for(fake)
    body = callback_body(fake.webhook(), "你好", msg_id="m-retry")
    assert deliver(channel, body, {**signed_headers(SECRET), "sign": "x"})[0] == 401
    assert deliver(channel, body, signed_headers(SECRET))[0] == 200
    assert len(fake.bodies()) == 1


def test_a_replayed_msgid_is_ignored_and_answered_only_once(kb, fake):
    channel, bot = channel_for(fake), EchoBot()
    body = callback_body(fake.webhook(), "首台套奖励多少", msg_id="m-replay")
    assert deliver(channel, body, signed_headers(SECRET), bot) == (200, {"status": "accepted"})
    assert deliver(channel, body, signed_headers(SECRET), bot) == (200, {"status": "duplicate"})
    assert len(bot.messages) == 1 and len(fake.bodies()) == 1


def test_an_empty_secret_refuses_every_callback(kb, fake):
    channel, bot = channel_for(fake, app_secret=""), EchoBot()
    # Even a request "signed" with the empty secret: that key is known to everyone.
    status, _ = deliver(channel, callback_body(fake.webhook(), "你好", msg_id="m-dev"), signed_headers(""), bot)
    assert status == 503 and bot.messages == [] and fake.bodies() == []


def test_a_body_that_is_not_json_is_a_bad_request(kb, fake):
    assert deliver(channel_for(fake), b"<xml/>", signed_headers(SECRET))[0] == 400


# --- where replies may go ------------------------------------------------------------------------


@pytest.mark.parametrize("webhook", [
    "https://attacker.example/robot/sendBySession?session=x",
    "http://oapi.dingtalk.com/robot/sendBySession?session=x",  # plain http to DingTalk's host
    "https://oapi.dingtalk.com@attacker.example/robot/sendBySession",  # userinfo disguising the real host
    "https://oapi.dingtalk.com.attacker.example/robot/sendBySession",
    "https://oapi.dingtalk.com:8443/robot/sendBySession",
    "file:///etc/passwd",
    "",
])
def test_a_session_webhook_outside_the_allowlist_is_refused(webhook):
    allowed = parse_reply_hosts(None)
    assert webhook_problem(webhook, allowed) is not None
    assert webhook_problem("https://oapi.dingtalk.com/robot/sendBySession?session=x", allowed) is None
    assert webhook_problem("https://api.dingtalk.com/v1.0/robot/x", allowed) is None


def test_a_callback_whose_session_webhook_points_at_another_host_is_refused_with_nothing_sent(kb, fake):
    bot = EchoBot()
    with FakeDingTalk() as elsewhere:  # a second loopback server the allowlist does not name
        status, _ = deliver(channel_for(fake), callback_body(elsewhere.webhook(), "你好", msg_id="m-ssrf"),
                            signed_headers(SECRET), bot)
        assert status == 403
        assert bot.messages == [] and elsewhere.bodies() == [] and fake.bodies() == []


def test_reply_hosts_accept_host_host_port_and_scheme_forms_and_reject_paths():
    assert parse_reply_hosts("oapi.dingtalk.com, http://127.0.0.1:8080") == (
        Origin("https", "oapi.dingtalk.com", 443), Origin("http", "127.0.0.1", 8080))
    assert parse_reply_hosts("") == parse_reply_hosts(None) == (
        Origin("https", "oapi.dingtalk.com", 443), Origin("https", "api.dingtalk.com", 443))
    with pytest.raises(ValueError, match="reply_hosts"):
        parse_reply_hosts("https://oapi.dingtalk.com/robot")


def test_an_expired_session_webhook_is_not_used(kb, fake):
    bot = EchoBot()
    body = callback_body(fake.webhook(), "你好", msg_id="m-old", expires_in_ms=-1000)
    assert deliver(channel_for(fake), body, signed_headers(SECRET), bot) == (200, {"status": "expired"})
    assert bot.messages == [] and fake.bodies() == []


def test_a_webhook_that_expires_while_the_answer_is_prepared_gets_nothing(kb, fake):
    async def slow_bot(message: UserMessage) -> None:
        await asyncio.sleep(0.5)
        await message.output_channel.send_response(message.sender_id, {"text": "太晚了"})

    body = callback_body(fake.webhook(), "你好", msg_id="m-slow", expires_in_ms=300)
    assert deliver(channel_for(fake), body, signed_headers(SECRET), slow_bot)[0] == 200
    assert fake.bodies() == []


# --- reading and writing messages ----------------------------------------------------------------


def test_a_group_message_loses_the_robot_mention_and_is_kept_per_person_per_group(kb, fake):
    bot = EchoBot()
    body = callback_body(fake.webhook(), "@惠企政策助手 首台套奖励多少", msg_id="m-group", group=True)
    assert deliver(channel_for(fake), body, signed_headers(SECRET), bot)[0] == 200
    assert [m.text for m in bot.messages] == ["首台套奖励多少"]
    assert bot.messages[0].sender_id == "cidGroupAbc==#staff-001"
    assert fake.bodies() == [markdown("收到：首台套奖励多少")]


def test_a_group_message_dingtalk_already_stripped_keeps_its_text():
    body = {"conversationType": "2", "text": {"content": " 双尖双领怎么申报"}}
    assert message_text(body) == "双尖双领怎么申报"
    assert message_text({"conversationType": "1", "text": {"content": "@张三 你好"}}) == "@张三 你好"


def test_a_group_message_not_addressed_to_the_robot_is_ignored(kb, fake):
    bot = EchoBot()
    body = callback_body(fake.webhook(), "大家好", msg_id="m-chatter", group=True, at_robot=False)
    assert deliver(channel_for(fake), body, signed_headers(SECRET), bot) == (200, {"status": "ignored"})
    assert bot.messages == [] and fake.bodies() == []


def test_a_picture_gets_a_polite_reply_that_only_text_is_read(kb, fake):
    bot = EchoBot()
    body = callback_body(fake.webhook(), "", msg_id="m-pic", msgtype="picture")
    assert deliver(channel_for(fake), body, signed_headers(SECRET), bot)[0] == 200
    assert bot.messages == [] and fake.bodies() == [markdown(dingtalk.NON_TEXT_REPLY)]


def test_line_breaks_become_markdown_hard_breaks():
    assert to_markdown("【首台套】奖励\n关键数字：200万元") == "【首台套】奖励  \n关键数字：200万元"


def test_a_long_reply_is_split_at_paragraphs_and_every_piece_is_sent(kb, fake):
    paragraphs = [f"第{i}段：" + "政" * 1200 for i in range(1, 4)]

    async def long_bot(message: UserMessage) -> None:
        for paragraph in paragraphs:
            await message.output_channel.send_response(message.sender_id, {"text": paragraph})

    body = callback_body(fake.webhook(), "全部政策", msg_id="m-long")
    assert deliver(channel_for(fake, max_reply_chars=3000), body, signed_headers(SECRET), long_bot)[0] == 200
    sent = [b["markdown"]["text"] for b in fake.bodies()]
    assert sent == [paragraphs[0] + "  \n  \n" + paragraphs[1], paragraphs[2]]


def test_a_paragraph_longer_than_the_limit_is_cut_without_losing_text():
    text = "甲" * 25
    assert split_reply(text, 10) == ["甲" * 10, "甲" * 10, "甲" * 5]
    assert "".join(split_reply("一\n二\n三" * 10, 7)).replace("\n", "") == ("一二三" * 10)


def test_buttons_become_a_list_of_things_to_ask(kb, fake):
    async def greeting_bot(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {
            "text": "您好！请问想了解什么？",
            "buttons": [{"title": "首台套奖励多少", "payload": "首台套奖励多少"},
                        {"title": "双尖双领怎么申报", "payload": "双尖双领怎么申报"}]})

    assert deliver(channel_for(fake), callback_body(fake.webhook(), "你好", msg_id="m-hi"),
                   signed_headers(SECRET), greeting_bot)[0] == 200
    assert fake.bodies() == [markdown("您好！请问想了解什么？  \n- 首台套奖励多少  \n- 双尖双领怎么申报")]


def test_a_turn_rasa_left_silent_gets_the_apology(kb, fake):
    async def silent(message: UserMessage) -> None:
        return None

    assert deliver(channel_for(fake), callback_body(fake.webhook(), "首台套", msg_id="m-quiet"),
                   signed_headers(SECRET), silent)[0] == 200
    assert fake.bodies() == [markdown("抱歉，系统暂时无法回答，请稍后再试。")]


def test_seen_message_ids_are_forgotten_after_the_ttl_and_beyond_the_size():
    seen = SeenMessages(size=2, ttl=10)
    assert seen.check_and_add("a", now=0) is False
    assert seen.check_and_add("a", now=5) is True
    assert seen.check_and_add("a", now=11) is False  # older than the TTL: forgotten, then remembered again
    seen.check_and_add("b", now=12)
    seen.check_and_add("c", now=13)  # the oldest ("a") makes room
    assert seen.check_and_add("a", now=14) is False


# --- roles and staff-only features ---------------------------------------------------------------


def test_staff_ids_come_from_the_environment_with_optional_roles():
    assert staff_ids_from_env("s1, s2:admin,s3:staff") == {"s1": "staff", "s2": "admin", "s3": "staff"}
    assert staff_ids_from_env("") == {}
    with pytest.raises(ValueError, match="HUIQI_STAFF_IDS"):
        staff_ids_from_env("s1:boss")


def test_the_role_goes_to_rasa_in_the_metadata_from_configuration_or_the_staff_table(kb, fake):
    with kb.begin() as session:
        session.add(StaffMember(staff_id="kb-admin", name="李管理员", role="admin"))
        session.add(StaffMember(staff_id="staff-001", name="王专员", role="admin"))  # the higher of the two wins
    channel, bot = channel_for(fake), EchoBot()
    for n, staff_id in enumerate(["staff-001", "admin-001", "kb-admin", "stranger", None]):
        deliver(channel, callback_body(fake.webhook(), "你好", msg_id=f"m-role-{n}", staff_id=staff_id),
                signed_headers(SECRET), bot)
    assert [m.metadata for m in bot.messages] == [
        {"channel": "dingtalk", "role": "admin"},
        {"channel": "dingtalk", "role": "admin"},
        {"channel": "dingtalk", "role": "admin"},
        {"channel": "dingtalk", "role": "public"},
        {"channel": "dingtalk", "role": "public"},
    ]
    assert all(m.input_channel == "dingtalk" for m in bot.messages)


def add_today_questions(sessions, now: dt.datetime) -> None:
    utc = now.astimezone(dt.timezone.utc).replace(tzinfo=None)
    with sessions.begin() as session:
        session.add_all([
            AskedQuestion(created_at=utc - dt.timedelta(minutes=30), kind="unanswered", channel="socketio",
                          sender="f1", text="跨境电商海外仓补助多少"),
            AskedQuestion(created_at=utc - dt.timedelta(minutes=10), kind="handoff", channel="rest",
                          sender="f2", text="转人工"),
            AskedQuestion(created_at=utc - dt.timedelta(minutes=5), kind="unanswered", channel="socketio",
                          sender="f4", text="看图![x](http://tracker.example/p.png)"),
            AskedQuestion(created_at=utc - dt.timedelta(days=2), kind="unanswered", channel="rest",
                          sender="f3", text="前天的问题"),
        ])


def test_staff_get_todays_unanswered_questions_and_handoffs(kb, fake):
    from kb.admin.digest import CHINA

    now = dt.datetime.now(CHINA)
    if now.hour == 0 and now.minute < 31:
        pytest.skip("the fixture's questions would fall on yesterday")
    add_today_questions(kb, now)
    bot = EchoBot()
    deliver(channel_for(fake), callback_body(fake.webhook(), "今日未解答", msg_id="m-digest"),
            signed_headers(SECRET), bot)
    assert bot.messages == []  # answered by the connector, not Rasa
    [body] = fake.bodies()
    text = body["markdown"]["text"]
    assert text.startswith(f"**今日未解答**（{now.year}年{now.month}月{now.day}日）：未答出 2 条，转人工 1 条")
    assert "未答出：跨境电商海外仓补助多少" in text and "转人工：转人工" in text
    assert "前天的问题" not in text
    # A firm's text is shown as typed, never as a markdown image that would load a URL in staff's DingTalk.
    assert "看图！［x］（http://tracker.example/p.png）" in text and "![" not in text


def test_the_public_cannot_run_staff_commands(kb, fake):
    add_today_questions(kb, dt.datetime.now(dt.timezone.utc))
    bot = EchoBot()
    deliver(channel_for(fake), callback_body(fake.webhook(), "今日未解答", msg_id="m-nosy", staff_id="stranger"),
            signed_headers(SECRET), bot)
    deliver(channel_for(fake), callback_body(fake.webhook(), "帮企业查 91350100M000100Y43", msg_id="m-nosy2",
                                             staff_id="stranger"), signed_headers(SECRET), bot)
    texts = [b["markdown"]["text"] for b in fake.bodies()]
    assert texts == [dingtalk.STAFF_ONLY_REPLY.format(command="今日未解答"),
                     dingtalk.STAFF_ONLY_REPLY.format(command="帮企业查")]
    assert not any("跨境电商" in t for t in texts)


def add_measure_with_rule(sessions) -> None:
    with sessions.begin() as session:
        session.add(Document(id="doc-test", family="private_economy_32", edition="2024", title="测试措施文件",
                             short_name="测试文件", summary="测试用"))
        session.add(Measure(id="m-employees", document_id="doc-test", number=3, title="吸纳就业补助",
                            summary="测试用", rule={"field": "employees", "op": "ge", "value": 50}))
        session.add(Firm(credit_code="91350100M000100Y43", name="遂昌测试金属制品有限公司",
                         facts={"employees": 85}))


def test_staff_can_check_a_registered_firm_by_its_credit_code(kb, fake):
    add_measure_with_rule(kb)
    deliver(channel_for(fake), callback_body(fake.webhook(), "帮企业查 91350100M000100Y43", msg_id="m-firm"),
            signed_headers(SECRET))
    text = fake.bodies()[0]["markdown"]["text"]
    assert text == to_markdown("**帮企业查：遂昌测试金属制品有限公司**（91350100M000100Y43）\n"
                               "可以申报（1项）：\n- 吸纳就业补助（测试文件第3条）")


def test_a_credit_code_with_a_wrong_check_digit_is_named_as_such(kb, fake):
    add_measure_with_rule(kb)
    deliver(channel_for(fake), callback_body(fake.webhook(), "帮企业查 91350100M000100Y42", msg_id="m-typo"),
            signed_headers(SECRET))
    assert "校验位不对：最后一位应为3" in fake.bodies()[0]["markdown"]["text"]


def test_staff_can_check_a_firm_described_in_one_sentence(kb, fake):
    add_measure_with_rule(kb)
    deliver(channel_for(fake), callback_body(fake.webhook(), "帮企业查 我们是民营企业，30个人", msg_id="m-desc"),
            signed_headers(SECRET))
    text = fake.bodies()[0]["markdown"]["text"]
    assert text.startswith("**帮企业查**：按描述的企业情况（")
    assert "员工人数30人" in text and "不符合（1项）：吸纳就业补助" in text


# --- configuration ---------------------------------------------------------------------------------


def test_the_project_credentials_register_the_channel_from_the_environment(monkeypatch):
    from rasa.shared.utils.common import class_from_module_path
    from rasa.shared.utils.io import read_config_file

    from bot.settings import PROJECT_ROOT

    monkeypatch.setenv("DINGTALK_APP_KEY", "ding-key")
    monkeypatch.setenv("DINGTALK_APP_SECRET", SECRET)
    monkeypatch.setenv("DINGTALK_REPLY_HOSTS", "oapi.dingtalk.com,openplatform.dg-work.cn")
    credentials = read_config_file(str(PROJECT_ROOT / "credentials.yml"))
    name = "bot.channels.dingtalk.DingTalkInput"
    # What `rasa run` does with each entry (rasa.core.run._create_single_channel), without importing TensorFlow.
    channel = class_from_module_path(name).from_credentials(credentials[name])
    assert isinstance(channel, DingTalkInput)
    assert channel.app_secret == SECRET and channel.url_prefix() == "dingtalk"
    assert Origin("https", "openplatform.dg-work.cn", 443) in channel.allowed


def test_rasa_gets_development_defaults_only_for_unset_dingtalk_variables(tmp_path):
    from bot.services import dingtalk_env

    assert dingtalk_env({}) == {"DINGTALK_APP_KEY": "", "DINGTALK_APP_SECRET": "",
                                "DINGTALK_REPLY_HOSTS": "oapi.dingtalk.com,api.dingtalk.com"}
    assert dingtalk_env({"DINGTALK_APP_SECRET": "real", "DINGTALK_APP_KEY": "k", "DINGTALK_REPLY_HOSTS": "x"}) == {}


def test_the_secret_never_reaches_the_log(kb, fake, caplog):
    caplog.set_level("DEBUG")
    channel = channel_for(fake)
    deliver(channel, callback_body(fake.webhook(), "你好", msg_id="m-log"), {**signed_headers(SECRET), "sign": "x"})
    deliver(channel, callback_body("https://attacker.example/x", "你好", msg_id="m-log2"), signed_headers(SECRET))
    assert SECRET not in caplog.text and sign("1", SECRET) not in caplog.text
    assert "signature does not match" in caplog.text and "attacker.example" in caplog.text
