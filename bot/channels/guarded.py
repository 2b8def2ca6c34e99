"""REST and socket.io channels that never leave a firm without a reply, and never take orders from it.

When a custom action fails (the action server is down or errors), Rasa logs the
exception and sends nothing. These channels notice a turn that produced no
message and send the domain's `utter_service_unavailable` instead.

They also bound their input (bot/limits.py): a message longer than
MAX_MESSAGE_LENGTH gets `utter_message_too_long`, a sender over its rate gets
`utter_too_many_messages`, both before the pipeline runs. The REST channel
ignores `input_channel` and `metadata` in the request body (a browser could
otherwise claim to be DingTalk staff). The socket.io channel issues keyed
sessions (bot/widget_sessions.py) and answers each socket as the session it
confirmed, whatever `session_id` a message claims.
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic
from sanic.request import Request

from bot import limits
from bot.widget_sessions import key_matches, session_key

logger = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_service_unavailable"
EMPTY_MESSAGE_RESPONSE = "utter_empty_message"
TOO_LONG_RESPONSE = "utter_message_too_long"
TOO_MANY_RESPONSE = "utter_too_many_messages"
# Only used if the loaded model's domain lacks the responses, so the reply is never empty.
LAST_RESORT_APOLOGY = "抱歉，系统暂时无法回答，请稍后再试。"
LAST_RESORT_PROMPT = "请输入您想了解的政策问题。"
LAST_RESORT_TOO_LONG = "您的消息太长了，请把问题缩短到5000字以内再发。"
LAST_RESORT_TOO_MANY = "您发送得太快了，请稍等一分钟再继续提问。"


class CountingOutput(OutputChannel):
    """Passes every message to the real channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        """Wrap the real channel, with no message sent yet."""
        self.inner = inner
        self.sent = 0

    def name(self) -> str:  # type: ignore[override]
        """The real channel's name."""
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Pass one message to the real channel and count it."""
        self.sent += 1
        await self.inner.send_response(recipient_id, message)


def domain_text(response: str, fallback: str) -> str:
    """The first text variant of a response in the loaded model's domain."""
    try:
        domain = Sanic.get_app().ctx.agent.domain
        variants = domain.responses.get(response) or []
        if variants and variants[0].get("text"):
            return variants[0]["text"]
    except Exception:  # the app or model may not be loaded; the fallback keeps the reply non-empty
        logger.warning("No %s in the loaded domain; using the built-in text", response)
    return fallback


def message_limiter() -> limits.RateLimiter:
    """A rate limiter with the per-sender message allowance of bot/limits.py."""
    return limits.RateLimiter(limits.MESSAGES_PER_SENDER, limits.MESSAGE_WINDOW)


def guard(on_new_message: Callable[[UserMessage], Awaitable[Any]],
          limiter: limits.RateLimiter | None = None) -> Callable[[UserMessage], Awaitable[Any]]:
    """Wrap a channel's message handler: too long or too many messages get an apology instead of Rasa."""
    limiter = limiter or message_limiter()
    # One log line per flooding sender and window, not one per refused message (a flood would fill the disk).
    logged = limits.RateLimiter(1, limiter.window)

    async def answer_or_apologise(message: UserMessage) -> None:
        text = message.text or ""
        if len(text) > limits.MAX_MESSAGE_LENGTH:
            await message.output_channel.send_text_message(
                message.sender_id, domain_text(TOO_LONG_RESPONSE, LAST_RESORT_TOO_LONG))
            return
        if not limiter.allow(str(message.sender_id)):
            if logged.allow(str(message.sender_id)):
                logger.warning("Sender %s is over %d messages per %gs; refusing until it slows down",
                               message.sender_id, limiter.limit, limiter.window)
            await message.output_channel.send_text_message(
                message.sender_id, domain_text(TOO_MANY_RESPONSE, LAST_RESORT_TOO_MANY))
            return
        if not text.strip():
            # Nothing to understand: ask for a question instead of running the pipeline on nothing.
            await message.output_channel.send_text_message(
                message.sender_id, domain_text(EMPTY_MESSAGE_RESPONSE, LAST_RESORT_PROMPT))
            return
        counting = CountingOutput(message.output_channel)
        message.output_channel = counting
        try:
            await on_new_message(message)
        finally:
            if counting.sent == 0:
                logger.warning("Turn of %s produced no reply; sending the apology", message.sender_id)
                await counting.inner.send_text_message(message.sender_id,
                                                       domain_text(APOLOGY_RESPONSE, LAST_RESORT_APOLOGY))

    return answer_or_apologise


class GuardedRestInput(RestInput):
    """Rasa's REST channel (same URL, /webhooks/rest/webhook) with the apology guard and limits."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """Rasa's REST routes, each message going through the guard."""
        return super().blueprint(guard(on_new_message))

    def _extract_input_channel(self, req: Request) -> str:
        # Rasa takes "input_channel" from the body: a caller could name itself "dingtalk".
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        """No metadata: roles come from authenticated channels only, never from the request body."""
        # Rasa 3.6 passes the body's "metadata" on; roles come from authenticated channels only.
        return None


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with the apology guard and a working `session_request`."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's socket.io routes with the guard, sessions continued only with their key, senders from the socket."""
        guarded = guard(on_new_message)
        blueprint = super().blueprint(guarded)
        sio = self.sio
        # The session each connected socket confirmed: its messages are that session's, nobody else's.
        self.confirmed: dict[str, str] = {}

        # Replaces Rasa 3.6's handler, which calls enter_room without await: since
        # python-socketio 5.10 it is a coroutine, so the socket never joined the
        # session's room and, with session persistence, no reply reached the
        # browser (RasaHQ/rasa#13027). A session is continued only with the key
        # issued with it; anything else starts a new one.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not key_matches(session_id, data.get("session_key")):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
                self.confirmed[sid] = session_id
            await sio.emit("session_confirm", {"session_id": session_id, "session_key": session_key(session_id)},
                           room=sid, namespace=self.namespace)

        # Replaces Rasa's handler, which takes the sender from the message's "session_id" (any
        # conversation, anyone's replies) and its metadata from the browser.
        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            data = data if isinstance(data, dict) else {}
            text = data.get("message", "")
            if not isinstance(text, str):
                text = json.dumps(text, ensure_ascii=False)
            sender_id = self.confirmed.get(sid, sid) if self.session_persistence else sid
            output = SocketIOOutput(sio, self.bot_message_evt)
            await guarded(UserMessage(text, output, sender_id, input_channel=self.name(), metadata=None))

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            self.confirmed.pop(sid, None)

        return blueprint
