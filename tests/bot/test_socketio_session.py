"""The socket.io channel's sessions: keyed, joined as a room, and the only sender a socket can speak as."""

from __future__ import annotations

import asyncio
from unittest.mock import AsyncMock

import pytest

from bot.channels.guarded import GuardedSocketIOInput
from bot.widget_sessions import key_matches, session_key

TOKEN = "test-rasa-token-0123456789"


@pytest.fixture(autouse=True)
def rasa_token(monkeypatch):
    monkeypatch.setenv("HUIQI_RASA_TOKEN", TOKEN)


def channel_with(session_persistence: bool = True):
    on_new_message = AsyncMock()
    channel = GuardedSocketIOInput.from_credentials(
        {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered", "session_persistence": session_persistence})
    channel.blueprint(on_new_message)
    channel.sio.enter_room = AsyncMock()
    channel.sio.emit = AsyncMock()
    return channel, on_new_message


def session_handler(session_persistence: bool = True):
    channel, _ = channel_with(session_persistence)
    return channel.sio, channel.sio.handlers["/"]["session_request"]


def confirmed(sio) -> dict:
    (event, payload), kwargs = sio.emit.await_args
    assert (event, kwargs) == ("session_confirm", {"room": "sock1", "namespace": None})
    return payload


def test_a_session_request_with_its_key_joins_the_sessions_room_and_confirms_the_same_id():
    sio, handler = session_handler()
    asyncio.run(handler("sock1", {"session_id": "3f2a9c", "session_key": session_key("3f2a9c")}))
    sio.enter_room.assert_awaited_once_with("sock1", "3f2a9c", namespace=None)
    assert confirmed(sio) == {"session_id": "3f2a9c", "session_key": session_key("3f2a9c")}


@pytest.mark.parametrize("data", [
    {"session_id": "3f2a9c"},  # a guessed or leaked id, without the key
    {"session_id": "3f2a9c", "session_key": "0" * 64},
    {"session_id": "3f2a9c", "session_key": session_key("3f2a9c", "another deployment's token")},
])
def test_a_session_id_without_the_key_issued_with_it_gets_a_fresh_session(data):
    sio, handler = session_handler()
    asyncio.run(handler("sock1", data))
    (_, session_id), _ = sio.enter_room.await_args
    assert session_id != "3f2a9c"
    payload = confirmed(sio)
    assert payload["session_id"] == session_id and key_matches(session_id, payload["session_key"])


@pytest.mark.parametrize("data", [None, {}, {"session_id": None}, {"session_id": {"$ne": 1}},
                                  {"session_id": "../../etc"}, {"session_id": "x" * 129}])
def test_a_missing_or_malformed_session_id_gets_a_fresh_one(data):
    sio, handler = session_handler()
    asyncio.run(handler("sock1", data))
    (_, session_id), _ = sio.enter_room.await_args
    assert len(session_id) == 32 and session_id.isalnum()
    assert confirmed(sio)["session_id"] == session_id


def test_without_session_persistence_no_room_is_joined():
    sio, handler = session_handler(session_persistence=False)
    asyncio.run(handler("sock1", {"session_id": "abc"}))
    sio.enter_room.assert_not_awaited()
    sio.emit.assert_awaited_once()


def test_a_message_is_the_confirmed_sessions_whatever_session_id_and_metadata_it_claims():
    channel, on_new_message = channel_with()
    handlers = channel.sio.handlers["/"]
    asyncio.run(handlers["session_request"]("sock1", {"session_id": "mine", "session_key": session_key("mine")}))
    asyncio.run(handlers["user_uttered"]("sock1", {"message": "你好", "session_id": "someone-else",
                                                   "customData": {"channel": "dingtalk", "role": "admin"}}))
    (message,), _ = on_new_message.await_args
    assert (message.text, message.sender_id, message.input_channel, message.metadata) == \
        ("你好", "mine", "socketio", None)


def test_a_socket_that_never_asked_for_a_session_speaks_only_as_itself():
    channel, on_new_message = channel_with()
    asyncio.run(channel.sio.handlers["/"]["user_uttered"]("sock9", {"message": "你好", "session_id": "victim"}))
    (message,), _ = on_new_message.await_args
    assert message.sender_id == "sock9"
