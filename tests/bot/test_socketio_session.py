"""The socket.io channel's session_request: the socket joins its session's room, so replies reach it."""

from __future__ import annotations

import asyncio
from unittest.mock import AsyncMock

import pytest

from bot.channels.guarded import GuardedSocketIOInput


def session_handler(session_persistence: bool = True):
    channel = GuardedSocketIOInput.from_credentials(
        {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered", "session_persistence": session_persistence})
    channel.blueprint(AsyncMock())
    channel.sio.enter_room = AsyncMock()
    channel.sio.emit = AsyncMock()
    return channel.sio, channel.sio.handlers["/"]["session_request"]


def test_a_session_request_joins_the_sessions_room_and_confirms_the_same_id():
    sio, handler = session_handler()
    asyncio.run(handler("sock1", {"session_id": "3f2a9c"}))
    sio.enter_room.assert_awaited_once_with("sock1", "3f2a9c", namespace=None)
    sio.emit.assert_awaited_once_with("session_confirm", "3f2a9c", room="sock1", namespace=None)


@pytest.mark.parametrize("data", [None, {}, {"session_id": None}, {"session_id": {"$ne": 1}},
                                  {"session_id": "../../etc"}, {"session_id": "x" * 129}])
def test_a_missing_or_malformed_session_id_gets_a_fresh_one(data):
    sio, handler = session_handler()
    asyncio.run(handler("sock1", data))
    (_, session_id), _ = sio.enter_room.await_args
    assert len(session_id) == 32 and session_id.isalnum()
    sio.emit.assert_awaited_once_with("session_confirm", session_id, room="sock1", namespace=None)


def test_without_session_persistence_no_room_is_joined():
    sio, handler = session_handler(session_persistence=False)
    asyncio.run(handler("sock1", {"session_id": "abc"}))
    sio.enter_room.assert_not_awaited()
    sio.emit.assert_awaited_once()
