"""Service-team staff in DingTalk: signed callbacks into the real Rasa server, replies at a fake DingTalk.

The Rasa server runs with the project's credentials.yml; the DingTalk settings come from the
environment, as in production, with the allowlist naming the fake endpoint on loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time

import pytest
import requests
from sqlalchemy import update

from bot.channels.dingtalk import markdown_payload
from bot.services import ServiceGroup, action_service, rasa_service
from kb.answering.respond import measures_asked_about
from kb.store.db import make_engine, make_sessionmaker
from kb.store.models import Measure, StaffMember
from tests.bot.fake_dingtalk import FakeDingTalk, callback_body, signed_headers
from tests.conversation.conftest import Chat, server_settings, with_kb

pytestmark = pytest.mark.conversation

SECRET = "conversation-test-secret"
QUESTION = "首台套奖励多少"
INTERNAL_NOTE = "测试备注：申报材料先交区经信局预审"
INTERNAL_CONTACT = "测试联系人 0571-00000000"


@pytest.fixture(scope="module")
def dingtalk(trained_model, conversation_kb, tmp_path_factory):
    """Action server and Rasa server on a copy of the seed KB with one staff-only note, plus a fake DingTalk."""
    var_dir = tmp_path_factory.mktemp("dingtalk")
    kb_path = var_dir / "kb.sqlite3"
    shutil.copy(conversation_kb.removeprefix("sqlite:///"), kb_path)
    kb_url = f"sqlite:///{kb_path}"
    engine = make_engine(kb_url)
    with make_sessionmaker(engine).begin() as session:
        measure_id = measures_asked_about(QUESTION, session=session, today=dt.date.today())[0][1].id
        session.execute(update(Measure).where(Measure.id == measure_id)
                        .values(internal_note=INTERNAL_NOTE, internal_contact=INTERNAL_CONTACT))
        session.add(StaffMember(staff_id="kb-staff-7", name="测试专员", role="staff"))
    engine.dispose()
    settings = server_settings(var_dir)
    with FakeDingTalk() as fake:
        env = {"HUIQI_DB_URL": kb_url, "DINGTALK_APP_KEY": "ding-test-key", "DINGTALK_APP_SECRET": SECRET,
               "DINGTALK_REPLY_HOSTS": f"oapi.dingtalk.com,{fake.origin}", "HUIQI_STAFF_IDS": "cfg-staff-1"}
        services = [with_kb(action_service(settings), kb_url), rasa_service(settings, trained_model, extra_env=env)]
        group = ServiceGroup(services, settings.var_dir / "log")
        group.start(timeout=600)  # two cores shared with other test runs: loading a model can take minutes
        try:
            yield Caller(settings, fake)
        finally:
            group.stop()


class Caller:
    """DingTalk's side: posts signed callbacks to the Rasa server and reads what arrived at the fake."""

    def __init__(self, settings, fake: FakeDingTalk) -> None:
        self.settings = settings
        self.fake = fake
        self.rest = Chat(settings)
        self.url = f"{settings.rasa_url}/webhooks/dingtalk/webhook"

    def post(self, body: dict, headers: dict | None = None) -> requests.Response:
        data = json.dumps(body, ensure_ascii=False).encode()
        return requests.post(self.url, data=data, headers=headers or signed_headers(SECRET), timeout=30)

    def ask(self, text: str, *, msg_id: str, **kwargs) -> list[dict]:
        """Send one message and return what the fake DingTalk received for it."""
        self.fake.clear()
        reply = self.post(callback_body(self.fake.webhook(msg_id), text, msg_id=msg_id, **kwargs))
        assert reply.status_code == 200 and reply.json() == {"status": "accepted"}
        return self.fake.wait_for(1, timeout=90)

    def nothing_arrives(self, seconds: float = 2.0) -> bool:
        time.sleep(seconds)
        return self.fake.bodies() == []

    def rest_markdown(self, sender: str, text: str) -> dict:
        """The markdown the connector should send for what the REST channel answers to the same text."""
        parts = []
        for message in self.rest.send(sender, text):
            lines = [message.get("text", "")] + [f"- {b['title']}" for b in message.get("buttons", [])]
            parts.append("\n".join(lines))
        return markdown_payload("\n\n".join(parts))


def test_a_correctly_signed_callback_gets_the_assistants_answer_as_markdown_at_dingtalk(dingtalk):
    [body] = dingtalk.ask(QUESTION, msg_id="conv-1", staff_id="someone-public-1")
    assert body == dingtalk.rest_markdown("rest-public-1", QUESTION)
    assert body["msgtype"] == "markdown" and "200万元" in body["markdown"]["text"]
    assert dingtalk.fake.received[0]["path"] == "/robot/sendBySession?session=conv-1"


@pytest.mark.parametrize("headers", [
    pytest.param(lambda: {**signed_headers(SECRET), "sign": signed_headers("wrong-secret")["sign"]}, id="wrong-sign"),
    pytest.param(lambda: signed_headers(SECRET, timestamp_ms=int(time.time() * 1000) - 2 * 3600 * 1000), id="stale"),
    pytest.param(lambda: {k: v for k, v in signed_headers(SECRET).items() if k != "sign"}, id="missing-sign"),
    pytest.param(lambda: {k: v for k, v in signed_headers(SECRET).items() if k != "timestamp"}, id="missing-ts"),
])
def test_an_unauthentic_callback_is_rejected_by_the_server_and_nothing_is_sent(dingtalk, headers):
    dingtalk.fake.clear()
    reply = dingtalk.post(callback_body(dingtalk.fake.webhook(), QUESTION, msg_id="conv-bad"), headers())
    assert reply.status_code == 401
    assert dingtalk.nothing_arrives(1.0)


def test_a_replayed_msgid_is_answered_once(dingtalk):
    body = callback_body(dingtalk.fake.webhook(), "你好", msg_id="conv-replay", staff_id="someone-public-2")
    dingtalk.fake.clear()
    assert dingtalk.post(body).json() == {"status": "accepted"}
    assert len(dingtalk.fake.wait_for(1, timeout=90)) == 1
    dingtalk.fake.clear()
    assert dingtalk.post(body).json() == {"status": "duplicate"}
    assert dingtalk.nothing_arrives()


def test_a_session_webhook_on_another_host_is_refused(dingtalk):
    with FakeDingTalk() as elsewhere:
        dingtalk.fake.clear()
        reply = dingtalk.post(callback_body(elsewhere.webhook(), QUESTION, msg_id="conv-ssrf"))
        assert reply.status_code == 403
        assert dingtalk.nothing_arrives(1.0) and elsewhere.bodies() == []


def test_a_group_message_is_answered_without_the_robot_mention(dingtalk):
    [body] = dingtalk.ask(f"@惠企政策助手 {QUESTION}", msg_id="conv-group", group=True, staff_id="someone-public-3")
    assert body == dingtalk.rest_markdown("rest-public-3", QUESTION)


@pytest.mark.parametrize("staff_id", ["cfg-staff-1", "kb-staff-7"])
def test_staff_get_the_internal_note_and_contact(dingtalk, staff_id):
    [body] = dingtalk.ask(QUESTION, msg_id=f"conv-staff-{staff_id}", staff_id=staff_id)
    text = body["markdown"]["text"]
    assert INTERNAL_NOTE in text and INTERNAL_CONTACT in text
    assert "200万元" in text


def test_an_unknown_sender_asking_the_same_gets_no_staff_content(dingtalk):
    [body] = dingtalk.ask(QUESTION, msg_id="conv-public", staff_id="stranger-9")
    text = body["markdown"]["text"]
    assert "200万元" in text
    assert INTERNAL_NOTE not in text and INTERNAL_CONTACT not in text


def test_staff_content_never_reaches_the_rest_channel_even_if_metadata_claims_a_role(dingtalk):
    reply = requests.post(f"{dingtalk.settings.rasa_url}/webhooks/rest/webhook",
                          json={"sender": "rest-forger", "message": QUESTION,
                                "metadata": {"channel": "dingtalk", "role": "admin"}}, timeout=60)
    assert INTERNAL_NOTE not in json.dumps(reply.json(), ensure_ascii=False)


def test_staff_content_never_reaches_the_rest_channel_even_if_the_body_names_the_dingtalk_channel(dingtalk):
    reply = requests.post(f"{dingtalk.settings.rasa_url}/webhooks/rest/webhook",
                          json={"sender": "cfg-staff-1", "message": QUESTION, "input_channel": "dingtalk",
                                "metadata": {"channel": "dingtalk", "role": "admin", "staff_id": "cfg-staff-1"}},
                          timeout=60)
    text = json.dumps(reply.json(), ensure_ascii=False)
    assert "200万元" in text and INTERNAL_NOTE not in text and INTERNAL_CONTACT not in text


def test_staff_ask_for_todays_unanswered_questions_through_the_server(dingtalk):
    [body] = dingtalk.ask("今日未解答", msg_id="conv-digest", staff_id="cfg-staff-1")
    assert "今日未解答" in body["markdown"]["text"] or "还没有未解答" in body["markdown"]["text"]


def test_staff_see_a_new_measures_firms_through_the_server_and_the_public_does_not(dingtalk, tmp_path):
    """政策找企业: an import (here, in this process) matches the registry; 匹配 and 新政策匹配 answer from it."""
    import random
    import textwrap

    from kb.admin.importer import apply_import, read_import
    from kb.admin.revisions import rollback
    from kb.store.queries import latest_revision_id
    from tests.kb.test_firm_matches import credit_code, firms_yaml, measure_yaml

    rng = random.Random()
    codes = {name: credit_code(rng) for name in ("small", "big", "unsaid")}
    limit = rng.randint(20, 200)
    engine = make_engine(f"sqlite:///{dingtalk.settings.var_dir / 'kb.sqlite3'}")
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        before = latest_revision_id(session=session)
    path = tmp_path / "new.yaml"
    path.write_text(textwrap.dedent(firms_yaml(codes, limit)) + textwrap.dedent(measure_yaml("conv-match-grant", limit)),
                    encoding="utf-8")
    with sessions.begin() as session:
        result = apply_import(session, read_import(path), author="测试")
    try:
        assert result.matches[0].counts == {"eligible": 1, "likely": 0, "not_eligible": 1, "unknown": 1}
        [body] = dingtalk.ask("匹配 conv-match-grant", msg_id="conv-match", staff_id="kb-staff-7")
        text = body["markdown"]["text"]
        assert f"修订 {result.revision_id}，企业库 3 家" in text
        assert f"测试小企业{limit}（{codes['small']}）" in text and "缺员工人数" in text
        [body] = dingtalk.ask("新政策匹配", msg_id="conv-latest", staff_id="cfg-staff-1")
        assert "测试用小微企业补助（conv-match-grant" in body["markdown"]["text"]
        [body] = dingtalk.ask("匹配 conv-match-grant", msg_id="conv-match-public", staff_id="stranger-11")
        assert "只对助企服务专员开放" in body["markdown"]["text"] and "测试小企业" not in body["markdown"]["text"]
    finally:
        with sessions.begin() as session:
            rollback(session, before, author="测试")  # the module's other tests see the knowledge base as it was
        engine.dispose()
