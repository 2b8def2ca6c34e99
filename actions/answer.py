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
from kb.answering.respond import respond, respond_measure, respond_small_talk
from kb.answering.vocabulary import vocabulary
from kb.eligibility.profile import FIELDS

CONTEXT_SLOT = "answer_context"


def _reply(tracker: Tracker, intent: str) -> Reply:
    measure_id = next(tracker.get_latest_entity_values("measure_id"), None) if intent == "choose_measure" else None
    if measure_id:
        return _measure_reply(tracker, measure_id)
    with sessions()() as session:
        return respond(message_text(tracker), session=session, today=today(),
                       context=tracker.get_slot(CONTEXT_SLOT), intent=intent, staff=is_staff(tracker))


def _measure_reply(tracker: Tracker, measure_id: str) -> Reply:
    with sessions()() as session:
        return respond_measure(measure_id, session=session, today=today(), staff=is_staff(tracker))


def utter_reply(dispatcher: CollectingDispatcher, domain: dict[str, Any], reply: Reply) -> list[dict[str, Any]]:
    """Each message of a reply, worded by its domain response; the slot event that keeps its topic."""
    responses = domain.get("responses") or {}
    for say in reply.messages:
        values = render(say.values, responses)
        if say.buttons:
            dispatcher.utter_message(response=say.response, buttons=[dict(b) for b in say.buttons], **values)
        else:
            dispatcher.utter_message(response=say.response, **values)
    return [SlotSet(CONTEXT_SLOT, reply.context)] if reply.context else []


async def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                          intent: str = "ask_measure") -> list[dict[str, Any]]:
    """Answer the latest message as a question about the knowledge base; the slot events to apply."""
    reply = await asyncio.to_thread(_reply, tracker, intent)
    if not reply.answered:
        await asyncio.to_thread(log_unanswered, tracker, "unanswered")
    return utter_reply(dispatcher, domain, reply)


async def answer_and_resume(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                            intent: str = "ask_measure") -> list[dict[str, Any]]:
    """Answer the message as a question; if the eligibility dialogue was waiting for a fact, ask it again."""
    events = await answer_question(dispatcher, tracker, domain, intent)
    return events + resume_after_answer(dispatcher, tracker, domain)


def resume_after_answer(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict]:
    """After the answer path answered a question asked mid-dialogue: re-ask the pending fact, if any.

    Returns the events to add (none: the slots already say what was asked).
    """
    asked = tracker.get_slot("asked_field")
    if not asked or asked not in FIELDS or tracker.get_slot("eligibility_done"):
        return []
    dispatcher.utter_message(response="utter_eligibility_resume", question=FIELDS[asked].question)
    return []


def utter_measure(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                  measure_id: str) -> list[dict[str, Any]]:
    """One measure's answer, as a button choosing it shows it; blocking, so call it from a worker thread."""
    return utter_reply(dispatcher, domain, _measure_reply(tracker, measure_id))


# The small-talk response of each intent; a greeting is a plain response of its own (said even while this
# server is down), after which this action only answers a question the greeting holds ("你好，高企税率多少").
SMALL_TALK = {"thank": "utter_thank", "goodbye": "utter_goodbye", "greet": None}


class ActionSmallTalk(Action):
    """Thanks, a goodbye or a greeting; a policy question the classifier took for one is answered instead."""

    def name(self) -> str:
        """The action's name in the domain: action_small_talk."""
        return "action_small_talk"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Utter the small-talk response, or the knowledge base's answer when the message holds a question."""
        response = SMALL_TALK.get(intent_name(tracker), "utter_thank")

        def reply() -> Reply:
            with sessions()() as session:
                return respond_small_talk(message_text(tracker), response, session=session, today=today(),
                                          context=tracker.get_slot(CONTEXT_SLOT), staff=is_staff(tracker))

        return utter_reply(dispatcher, domain, await asyncio.to_thread(reply))


class ActionHandoff(Action):
    """A request for a person: logged for the staff digest, and where to find one."""

    def name(self) -> str:
        """The action's name in the domain: action_handoff."""
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Log a request for a person and say where to find one; with no word asking for a person, answer it instead."""
        if not vocabulary().asks_for_a_person(message_text(tracker)):
            # "那研发人员呢" taken for a hand-off: no word asks for a person, so it is answered.
            return await answer_and_resume(dispatcher, tracker, domain)
        await asyncio.to_thread(log_unanswered, tracker, "handoff")
        dispatcher.utter_message(response="utter_handoff")
        return []
