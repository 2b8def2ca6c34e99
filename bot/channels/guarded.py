"""REST and socket.io channels that never leave a firm without a reply.

When a custom action fails (the action server is down or errors), Rasa logs the
exception and sends nothing. These channels notice a turn that produced no
message and send the domain's `utter_service_unavailable` instead.
"""

from __future__ import annotations

import inspect
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, Sanic

logger = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_service_unavailable"
EMPTY_MESSAGE_RESPONSE = "utter_empty_message"
# Only used if the loaded model's domain lacks the responses, so the reply is never empty.
LAST_RESORT_APOLOGY = "抱歉，系统暂时无法回答，请稍后再试。"
LAST_RESORT_PROMPT = "请输入您想了解的政策问题。"
# A socket.io session id becomes Rasa's sender id: keep it to what a client library generates.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class CountingOutput(OutputChannel):
    """Passes every message to the real channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    def name(self) -> str:  # type: ignore[override]
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
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


def guard(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
    async def answer_or_apologise(message: UserMessage) -> None:
        if not (message.text or "").strip():
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
    """Rasa's REST channel (same URL, /webhooks/rest/webhook) with the apology guard."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        return super().blueprint(guard(on_new_message))


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with the apology guard and a working `session_request`."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(guard(on_new_message))
        sio = self.sio

        # Replaces Rasa 3.6's handler, which calls enter_room without await: since
        # python-socketio 5.10 it is a coroutine, so the socket never joined the
        # session's room and, with session persistence, no reply reached the
        # browser (RasaHQ/rasa#13027).
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        return blueprint
