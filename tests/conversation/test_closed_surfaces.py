"""Closed surfaces on the real servers: the token, what nginx publishes, keyed sessions, input limits.

Rasa's HTTP API needs its token; nginx publishes only what browsers and DingTalk need; a widget
session continues, and its history is returned, only with its key; inputs are bounded.

One module fixture starts the action server, the Rasa server (DingTalk on, replies to a fake DingTalk),
the web app (as behind a proxy: SANIC_PROXIES_COUNT=1) and Debian's nginx with deploy/nginx.conf in front.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
import requests
import socketio
import yaml

from bot.limits import ADMIN_FAILURES_PER_CLIENT, MAX_MESSAGE_LENGTH, MESSAGES_PER_SENDER
from bot.services import Service, ServiceGroup, action_service, free_port, rasa_service, web_service
from bot.settings import PROJECT_ROOT
from bot.topology import nginx_command, write_nginx_conf
from tests.bot.fake_dingtalk import FakeDingTalk, callback_body, signed_headers
from tests.conversation.conftest import Chat, server_settings, with_kb

pytestmark = pytest.mark.conversation

SECRET = "closed-surfaces-secret"
QUESTION = "首台套奖励多少"

# Rasa 3.6's HTTP API (rasa/server.py), every route that reads or changes a model or a conversation.
RASA_API = [
    ("GET", "/status"), ("GET", "/domain"), ("DELETE", "/model"), ("PUT", "/model"), ("POST", "/model/parse"),
    ("POST", "/model/train"), ("POST", "/model/test/intents"), ("POST", "/model/test/stories"),
    ("GET", "/conversations/firm-1/tracker"), ("POST", "/conversations/firm-1/tracker/events"),
    ("PUT", "/conversations/firm-1/tracker/events"), ("GET", "/conversations/firm-1/story"),
    ("POST", "/conversations/firm-1/messages"), ("POST", "/conversations/firm-1/execute"),
    ("POST", "/conversations/firm-1/trigger_intent"), ("POST", "/conversations/firm-1/predict"),
]
BODIES = {"/conversations/firm-1/tracker/events": [{"event": "slot", "name": "employees", "value": 9999}],
          "/model/parse": {"text": "你好"}, "/conversations/firm-1/messages": {"text": "你好", "sender": "user"},
          "/model": {"model_file": "models/none.tar.gz"}}


def responses() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


@dataclasses.dataclass
class Stack:
    chat: Chat
    front: str  # nginx's URL
    fake: FakeDingTalk

    @property
    def rasa(self) -> str:
        return self.chat.settings.rasa_url

    @property
    def web(self) -> str:
        return self.chat.settings.web_url

    @property
    def token(self) -> str:
        return self.chat.settings.rasa_token


@pytest.fixture(scope="module")
def stack(trained_model, conversation_kb, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("closed")
    settings = server_settings(var_dir)
    listen, actions_listen = free_port(), free_port()
    conf = write_nginx_conf(var_dir / "nginx", listen=f"127.0.0.1:{listen}", actions_listen=f"127.0.0.1:{actions_listen}",
                            rasa_servers=[f"127.0.0.1:{settings.rasa_port}"],
                            action_servers=[f"127.0.0.1:{settings.actions_port}"],
                            web_servers=[f"127.0.0.1:{settings.web_port}"])
    nginx = Service(name="nginx", command=nginx_command(var_dir / "nginx", conf),
                    health_url=f"http://127.0.0.1:{listen}/nginx-health")
    with FakeDingTalk() as fake:
        dingtalk = {"DINGTALK_APP_KEY": "ding-test-key", "DINGTALK_APP_SECRET": SECRET,
                    "DINGTALK_REPLY_HOSTS": f"oapi.dingtalk.com,{fake.origin}"}
        web = with_kb(web_service(settings), conversation_kb)
        web.env["SANIC_PROXIES_COUNT"] = "1"  # as behind nginx: the client address from X-Forwarded-For
        services = [with_kb(action_service(settings), conversation_kb),
                    rasa_service(settings, trained_model, extra_env=dingtalk), web, nginx]
        with ServiceGroup(services, var_dir / "log"):
            yield Stack(Chat(settings), f"http://127.0.0.1:{listen}", fake)


def call(base: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, base + path, json=BODIES.get(path), timeout=30, **kwargs)


# ---------------------------------------------------------------- Rasa's HTTP API

def test_every_rasa_api_route_is_refused_without_the_token_and_with_a_wrong_one(stack):
    for method, path in RASA_API:
        assert call(stack.rasa, method, path).status_code == 401, (method, path)
        assert call(stack.rasa, method, path, params={"token": "guessed"}).status_code == 401, (method, path)
    # Nothing was unloaded or written: the bot still answers, and firm-1 has no planted slot.
    assert "200万元" in " ".join(stack.chat.texts("closed-after-refusals", QUESTION))
    assert all(e.get("name") != "employees" for e in stack.chat.tracker_events("firm-1"))


def test_with_the_token_the_api_answers_internal_callers(stack):
    assert requests.get(f"{stack.rasa}/status", params={"token": stack.token}, timeout=30).status_code == 200
    stack.chat.texts("closed-own", "你好")
    said = [e["text"] for e in stack.chat.tracker_events("closed-own") if e["event"] == "user"]
    assert said == ["你好"]


def test_the_token_is_in_no_process_command_line(stack):
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert stack.token.encode() not in cmdline.read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue


# ---------------------------------------------------------------- nginx

def test_nginx_does_not_route_rasas_api_even_with_the_token(stack):
    for method, path in RASA_API:
        assert call(stack.front, method, path).status_code == 404, (method, path)
        assert call(stack.front, method, path, params={"token": stack.token}).status_code == 404, (method, path)
    for path in ("/", "/version", "/health", "/conversations/x/tracker?token=x", "/webhooks", "/api/admin"):
        assert requests.get(stack.front + path, timeout=30).status_code in (403, 404) or path == "/", path


def test_through_nginx_the_rest_channel_answers(stack):
    reply = requests.post(f"{stack.front}/webhooks/rest/webhook", json={"sender": "nginx-rest", "message": QUESTION},
                          headers={"X-Sender-Id": "nginx-rest"}, timeout=60)
    assert reply.status_code == 200 and "200万元" in json.dumps(reply.json(), ensure_ascii=False)


def test_through_nginx_a_signed_dingtalk_callback_is_answered_at_dingtalk(stack):
    stack.fake.clear()
    body = callback_body(stack.fake.webhook("closed-1"), QUESTION, msg_id="closed-1", staff_id="someone")
    reply = requests.post(f"{stack.front}/webhooks/dingtalk/webhook", headers=signed_headers(SECRET),
                          data=json.dumps(body, ensure_ascii=False).encode(), timeout=60)
    assert reply.status_code == 200 and reply.json() == {"status": "accepted"}
    [sent] = stack.fake.wait_for(1, timeout=90)
    assert "200万元" in sent["markdown"]["text"]
    unsigned = requests.post(f"{stack.front}/webhooks/dingtalk/webhook", json=body, timeout=30)
    assert unsigned.status_code == 401


def test_through_nginx_the_web_apps_public_pages_and_apis_are_served(stack):
    page = requests.get(stack.front + "/", timeout=30)
    assert page.status_code == 200 and 'data-history-url="/api/history"' in page.text
    assert requests.get(stack.front + "/widget/huiqi-widget.js", timeout=30).status_code == 200
    assert requests.get(stack.front + "/admin", timeout=30).status_code == 200
    assert requests.get(stack.front + "/api/admin/status", timeout=30).status_code == 401
    eligible = requests.post(stack.front + "/api/eligibility", json={"facts": {"employees": 85}}, timeout=60)
    assert eligible.status_code == 200 and eligible.json()["facts"]["employees"] == 85
    assert requests.get(stack.front + "/api/eligibility", timeout=30).status_code == 403
    assert requests.post(stack.front + "/api/history", json={}, timeout=30).status_code == 403


# ---------------------------------------------------------------- socket.io and the widget's history

async def socket_session(base: str, session: dict | None = None, say: str | None = None,
                         claim: str | None = None) -> tuple[dict, list[dict]]:
    """Connect, ask for a session, optionally say something (claiming another session id); return both."""
    client = socketio.AsyncClient(reconnection=False)
    confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
    replies: list[dict] = []
    answered = asyncio.Event()
    client.on("session_confirm", lambda data: confirmed.done() or confirmed.set_result(data))

    def on_bot(data):
        replies.append(data)
        answered.set()

    client.on("bot_uttered", on_bot)
    # Long-polling only: this engineio client's WebSocket needs a newer aiohttp than Rasa 3.6 allows.
    await client.connect(base, socketio_path="/socket.io", transports=["polling"], wait_timeout=30)
    try:
        await client.emit("session_request", session or {})
        data = await asyncio.wait_for(confirmed, 30)
        if say is not None:
            await client.emit("user_uttered", {"message": say, "session_id": claim or data["session_id"]})
            await asyncio.wait_for(answered.wait(), 60)
        return data, replies
    finally:
        await client.disconnect()


def history(base: str, session: dict) -> requests.Response:
    return requests.post(f"{base}/api/history", data=json.dumps(session), timeout=30,
                         headers={"Content-Type": "text/plain;charset=UTF-8"})


@pytest.mark.parametrize("through", ["direct", "nginx"])
def test_a_widget_session_continues_only_with_its_key_and_its_history_goes_only_to_its_holder(stack, through):
    rasa, web = (stack.rasa, stack.web) if through == "direct" else (stack.front, stack.front)
    first, replies = asyncio.run(socket_session(rasa, say="你好"))
    assert replies and replies[0]["text"]
    again, _ = asyncio.run(socket_session(rasa, first))
    assert again == first  # the key continues the session
    stolen, _ = asyncio.run(socket_session(rasa, {"session_id": first["session_id"]}))
    assert stolen["session_id"] != first["session_id"]  # the id alone does not
    # Speaking as another session (its id in the message) lands in one's own conversation.
    asyncio.run(socket_session(rasa, stolen, say="谢谢", claim=first["session_id"]))

    own = history(web, first)
    assert own.status_code == 200 and own.headers["Cache-Control"] == "no-store"
    messages = own.json()["messages"]
    assert [m["text"] for m in messages if m["from"] == "user"] == ["你好"]
    assert messages[-1]["from"] == "bot" and set(messages[0]) == {"from", "text", "ts"}
    assert history(web, {"session_id": first["session_id"]}).status_code == 403
    assert history(web, {"session_id": first["session_id"], "session_key": stolen["session_key"]}).status_code == 403
    assert requests.get(f"{web}/api/history", params={"session_id": first["session_id"]}, timeout=30).status_code in (403, 405)


# ---------------------------------------------------------------- channels: forgery and limits

def test_the_rest_channel_ignores_a_channel_name_and_metadata_claimed_in_the_body(stack):
    requests.post(f"{stack.rasa}/webhooks/rest/webhook", timeout=60, json={
        "sender": "closed-forger", "message": QUESTION, "input_channel": "dingtalk",
        "metadata": {"channel": "dingtalk", "role": "admin"}})
    [user] = [e for e in stack.chat.tracker_events("closed-forger") if e["event"] == "user"]
    assert user["input_channel"] == "rest" and not (user.get("metadata") or {}).get("role")


def test_a_message_over_5000_characters_gets_a_polite_refusal(stack):
    assert MAX_MESSAGE_LENGTH == 5000
    assert stack.chat.texts("closed-long", "政" * 5001) == [responses()["utter_message_too_long"][0]["text"]]
    assert stack.chat.texts("closed-long", "你好")  # the sender is not punished for it


def test_a_flood_from_one_sender_is_refused_politely_and_others_are_answered_meanwhile(stack):
    too_many = responses()["utter_too_many_messages"][0]["text"]
    replies = [stack.chat.texts("closed-flood", "你好") for _ in range(MESSAGES_PER_SENDER + 3)]
    assert too_many not in replies[MESSAGES_PER_SENDER - 1]
    assert replies[-3:] == [[too_many]] * 3
    assert "200万元" in " ".join(stack.chat.texts("closed-bystander", QUESTION))


# ---------------------------------------------------------------- the web app's limits

@pytest.mark.parametrize(("facts", "field"), [({"employees": -5}, "employees"), ({"revenue": 1e308}, "revenue"),
                                               ({"employees": 85, "rd_ratio": 350}, "rd_ratio")])
def test_the_eligibility_api_refuses_out_of_range_facts_naming_the_field(stack, facts, field):
    reply = requests.post(f"{stack.web}/api/eligibility", json={"facts": facts}, timeout=30)
    assert reply.status_code == 400 and reply.json()["field"] == field and field in reply.json()["error"]


def test_admin_token_guesses_are_rate_limited_per_client_address(stack):
    guesser = {"Authorization": "Bearer guess", "X-Forwarded-For": "203.0.113.7"}
    codes = [requests.get(f"{stack.web}/api/admin/status", headers=guesser, timeout=30).status_code
             for _ in range(ADMIN_FAILURES_PER_CLIENT + 2)]
    assert codes == [401] * ADMIN_FAILURES_PER_CLIENT + [429, 429]
    blocked = requests.get(f"{stack.web}/api/admin/status", headers=guesser, timeout=30)
    assert int(blocked.json()["retry_after"]) > 0
    other = {"Authorization": "Bearer guess", "X-Forwarded-For": "198.51.100.4"}
    assert requests.get(f"{stack.web}/api/admin/status", headers=other, timeout=30).status_code == 401
