"""The action for every message classified as a question: answered, unless it only describes the firm.

It sits above both the answer helpers (actions/answer.py) and the eligibility dialogue (actions/eligibility.py),
which builds on those helpers, so neither imports the other's module back.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import answer_and_resume
from actions.common import intent_name, message_text, today
from actions.eligibility import ActionCheckEligibility
from actions.firm_facts import describes_firm, kept_facts
from kb.eligibility.parsing import extract


class ActionAnswer(Action):
    """Any question about the policies: facts, lists, documents, changes, definitions, how and where to apply."""

    def name(self) -> str:
        """The action's name in the domain: action_answer."""
        return "action_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Answer the message as a question (then re-ask a pending fact); a message only describing the firm is not one."""
        text = message_text(tracker)
        extraction = await asyncio.to_thread(extract, text, today=today())  # read once: to route, then to keep
        if describes_firm(text, extraction.facts):
            # Whatever the classifier made of it, a message that only describes the firm goes to the dialogue.
            return await ActionCheckEligibility().run(dispatcher, tracker, domain)
        events = await answer_and_resume(dispatcher, tracker, domain, intent_name(tracker))
        return events + kept_facts(tracker, text, extraction)
