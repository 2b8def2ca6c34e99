"""REST and socket.io channels that never leave a firm without a reply.

When a custom action fails (the action server is down or errors), Rasa logs the
exception and sends nothing. These channels notice a turn that produced no
message and send the domain's `utter_service_unavailable` instead.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, Sanic

logger = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_service_unavailable"
# Only used if the loaded model's domain lacks the response, so the reply is never empty.
LAST_RESORT_APOLOGY = "抱歉，系统暂时无法回答，请稍后再试。"


class CountingOutput(OutputChannel):
    """Passes every message to the real channel and counts them."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    def name(self) -> Text:  # type: ignore[override]
        return self.inner.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.sent += 1
        await self.inner.send_response(recipient_id, message)


def apology_text() -> Text:
    try:
        domain = Sanic.get_app().ctx.agent.domain
        variants = domain.responses.get(APOLOGY_RESPONSE) or []
        if variants and variants[0].get("text"):
            return variants[0]["text"]
    except Exception:  # the app or model may not be loaded; the fallback keeps the reply non-empty
        logger.warning("No %s in the loaded domain; using the built-in apology", APOLOGY_RESPONSE)
    return LAST_RESORT_APOLOGY


def guard(on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Callable[[UserMessage], Awaitable[Any]]:
    async def answer_or_apologise(message: UserMessage) -> None:
        counting = CountingOutput(message.output_channel)
        message.output_channel = counting
        try:
            await on_new_message(message)
        finally:
            if counting.sent == 0 and (message.text or "").strip():
                logger.warning("Turn of %s produced no reply; sending the apology", message.sender_id)
                await counting.inner.send_text_message(message.sender_id, apology_text())

    return answer_or_apologise


class GuardedRestInput(RestInput):
    """Rasa's REST channel (same URL, /webhooks/rest/webhook) with the apology guard."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        return super().blueprint(guard(on_new_message))


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with the apology guard."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return super().blueprint(guard(on_new_message))
