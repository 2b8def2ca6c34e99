"""Custom actions. Each reads the tracker, asks one kb service and utters responses by name."""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import sessionmaker

from kb import service
from kb.db import make_engine, make_sessionmaker


@lru_cache(maxsize=1)
def sessions() -> sessionmaker:
    """One engine per action-server process, made on first use (never at import)."""
    return make_sessionmaker(make_engine())


def _family_in_message(tracker: Tracker) -> Optional[Text]:
    """The family named in this message only; an earlier one must not narrow a new question."""
    return next(tracker.get_latest_entity_values("policy_family"), None)


def _find_measure(question: Text, family: Optional[Text]) -> Optional[service.MeasureAnswer]:
    with sessions()() as session:
        return service.answer_measure(question, session=session, family=family)


def _find_family(question: Text, family: Optional[Text]) -> Optional[service.FamilyAnswer]:
    with sessions()() as session:
        family = family or service.detect_family(question, session=session)
        if family is None:
            return None
        return service.describe_family(family, session=session, today=dt.date.today(), question=question)


class ActionAnswerMeasure(Action):
    def name(self) -> Text:
        return "action_answer_measure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        question = tracker.latest_message.get("text") or ""
        # SQLAlchemy is synchronous: keep it off the action server's event loop.
        answer = await asyncio.to_thread(_find_measure, question, _family_in_message(tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_measure_not_found")
            return []
        fields = dict(title=answer.title, summary=answer.summary, document=answer.document,
                      clause=answer.clause, source_url=answer.source_url)
        if answer.outline_only:
            dispatcher.utter_message(response="utter_measure_outline", **fields)
            return []
        if answer.key_figure:
            dispatcher.utter_message(response="utter_measure_answer", key_figure=answer.key_figure, **fields)
        else:
            dispatcher.utter_message(response="utter_measure_answer_no_figure", **fields)
        if answer.department and answer.how_to_apply:
            dispatcher.utter_message(response="utter_measure_apply", department=answer.department,
                                     how_to_apply=answer.how_to_apply)
        elif answer.department:
            dispatcher.utter_message(response="utter_measure_department", department=answer.department)
        if answer.confidence == "low":
            dispatcher.utter_message(response="utter_measure_low_confidence")
        return []


class ActionDescribeFamily(Action):
    def name(self) -> Text:
        return "action_describe_family"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        question = tracker.latest_message.get("text") or ""
        answer = await asyncio.to_thread(_find_family, question, _family_in_message(tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_ask_which_family")
            return []
        dispatcher.utter_message(
            response="utter_family_overview",
            name=answer.name, title=answer.title, summary=answer.summary, issuer=answer.issuer,
            doc_number=answer.doc_number or "", published=answer.published, source_url=answer.source_url,
        )
        return []
