"""Answering: every question about the knowledge base goes through kb.answering, and its reply is uttered here.

SQLAlchemy is synchronous, so the knowledge-base work runs in a worker thread (asyncio.to_thread) and keeps
the action server's event loop free. The reply names domain responses; this module only fills them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import intent_name, is_staff, log_unanswered, message_text, sessions, today
from kb.answering.reply import Reply, render
from kb.answering.respond import respond, respond_measure

CONTEXT_SLOT = "answer_context"


def _reply(tracker: Tracker, intent: str) -> Reply:
    with sessions()() as session:
        if intent == "choose_measure":
            measure_id = next(tracker.get_latest_entity_values("measure_id"), None)
            if measure_id:
                return respond_measure(measure_id, session=session, today=today(), staff=is_staff(tracker))
        return respond(message_text(tracker), session=session, today=today(),
                       context=tracker.get_slot(CONTEXT_SLOT), intent=intent, staff=is_staff(tracker))


def _measure_reply(tracker: Tracker, measure_id: str) -> Reply:
    with sessions()() as session:
        return respond_measure(measure_id, session=session, today=today(), staff=is_staff(tracker))


def utter_reply(dispatcher: CollectingDispatcher, domain: dict[str, Any], reply: Reply) -> None:
    """Each message of a reply, worded by its domain response."""
    responses = domain.get("responses") or {}
    for say in reply.messages:
        values = render(say.values, responses)
        if say.buttons:
            dispatcher.utter_message(response=say.response, buttons=[dict(b) for b in say.buttons], **values)
        else:
            dispatcher.utter_message(response=say.response, **values)


async def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                          intent: str = "ask_measure") -> list[dict[str, Any]]:
    """Answer the latest message as a question about the knowledge base; the slot events to apply."""
    reply = await asyncio.to_thread(_reply, tracker, intent)
    if not reply.answered:
        await asyncio.to_thread(log_unanswered, tracker, "unanswered")
    utter_reply(dispatcher, domain, reply)
    return [SlotSet(CONTEXT_SLOT, reply.context)] if reply.context else []


def utter_measure(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  measure_id: str) -> list[dict[str, Any]]:
    """One measure's answer, as a button choosing it shows it; blocking, so call it from a worker thread."""
    reply = _measure_reply(tracker, measure_id)
    utter_reply(dispatcher, domain, reply)
    return [SlotSet(CONTEXT_SLOT, reply.context)] if reply.context else []


class ActionAnswer(Action):
    """Any question about the policies: facts, lists, documents, changes, definitions, how and where to apply."""

    def name(self) -> str:
        return "action_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return await answer_question(dispatcher, tracker, domain, intent_name(tracker))


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        await asyncio.to_thread(log_unanswered, tracker, "handoff")
        dispatcher.utter_message(response="utter_handoff")
        return []
