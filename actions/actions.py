"""Custom actions. Each reads the tracker, asks kb and utters responses named in domain.yml.

SQLAlchemy is synchronous, so each action does its knowledge-base work in a worker
thread (asyncio.to_thread) and keeps the action server's event loop free.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import sessionmaker

from kb import matching, queries, service
from kb.db import make_engine, make_sessionmaker
from kb.eligibility import Status, format_value
from kb.profile import FIELDS, Parsed, extract, parse
from kb.search import tokenize
from kb.text import article_number, edition_year, normalize, other_region

STAFF_ROLES = ("staff", "admin")
# Phrases of an open "what can we get" question, which starts the full profile dialogue.
OPEN_QUESTION = ("享受什么", "享受哪些", "能享受", "哪些政策", "什么政策", "符合哪些", "能拿哪些", "能拿什么",
                 "申请什么", "申请哪些", "哪些补贴", "哪些优惠", "匹配", "体检", "测算", "测一测", "有资格吗", "符合条件吗")


@lru_cache(maxsize=1)
def sessions() -> sessionmaker:
    """One engine per action-server process, made on first use (never at import)."""
    return make_sessionmaker(make_engine())


def _today() -> dt.date:
    return dt.date.today()


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def _family_in_message(tracker: Tracker) -> str | None:
    """The family named in this message only; an earlier one must not narrow a new question."""
    return next(tracker.get_latest_entity_values("policy_family"), None)


def _edition_in_message(tracker: Tracker) -> str | None:
    year = edition_year(_text(tracker), today=_today())
    return str(year) if year else None


def _is_staff(tracker: Tracker) -> bool:
    # Only the DingTalk connector sets a role; socket.io metadata is written by the browser, so a role there is forged.
    metadata = tracker.latest_message.get("metadata") or {}
    return tracker.get_latest_input_channel() == "dingtalk" and metadata.get("role") in STAFF_ROLES


def _asks_open(text: str) -> bool:
    return any(phrase in text for phrase in OPEN_QUESTION)


def _line(domain: dict[str, Any], response: str, **values: Any) -> str:
    """One line of a composite reply, worded by the domain response of that name."""
    return domain["responses"][response][0]["text"].format(**values)


def _log_unanswered(tracker: Tracker, kind: str) -> None:
    with sessions().begin() as session:
        service.log_question(_text(tracker), session=session, kind=kind,
                             channel=tracker.get_latest_input_channel() or "", sender=tracker.sender_id)


class ActionAnswerMeasure(Action):
    """Facts, how to apply, whom to contact and definitions: one measure found by kb retrieval."""

    def name(self) -> str:
        return "action_answer_measure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return await self.answer(dispatcher, tracker, _intent(tracker))

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str) -> list[dict[str, Any]]:
        question = self._question(tracker)
        region = other_region(question)
        if region:
            dispatcher.utter_message(response="utter_out_of_scope_region", region=region)
            return []
        found, others = await asyncio.to_thread(self._find, tracker, intent, question)
        if isinstance(found, service.ArticleLookup):
            if found.answer is None:
                dispatcher.utter_message(response="utter_article_text_missing", document=found.document,
                                         number=found.number, source_url=found.source_url)
                return [SlotSet("last_question", question)]
            found = found.answer
        if found is None:
            await asyncio.to_thread(_log_unanswered, tracker, "unanswered")
            # An unclear message that retrieval cannot place either gets the general fallback.
            dispatcher.utter_message(response="utter_default" if intent == "nlu_fallback" else "utter_measure_not_found")
            return []
        self._utter(dispatcher, found, intent, staff=_is_staff(tracker))
        if others:
            buttons = [{"title": c.title, "payload": f'/choose_measure{{"measure_id": "{c.measure_id}"}}'}
                       for c in others]
            dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return [SlotSet("last_question", question)]

    @staticmethod
    def _question(tracker: Tracker) -> str:
        """The question to answer; a bare follow-up ("那2025年呢") borrows the previous question's topic."""
        text = _text(tracker)
        previous = tracker.get_slot("last_question")
        year = edition_year(text, today=_today())
        # A follow-up names nothing but a year or "呢": no word of its own that retrieval could use.
        own_words = [t for t in tokenize(normalize(text)) if not t.isdigit()]
        if previous and not own_words and (text.rstrip("？?").endswith("呢") or year):
            without_year = re.sub(r"(20\d\d|\d\d)\s*(年度|年版|年|版)?", "", previous)
            return f"{year}年{without_year}" if year else f"{text} {previous}"
        return text

    @staticmethod
    def _find(tracker: Tracker, intent: str, question: str):
        """The measure to answer with (or an article lookup), and up to three others to offer."""
        with sessions()() as session:
            if intent == "choose_measure":
                measure_id = next(tracker.get_latest_entity_values("measure_id"), None)
                return (service.measure_by_id(measure_id, session=session) if measure_id else None), []
            number = article_number(question)
            if number:
                lookup = service.article(question, number, session=session, today=_today())
                if lookup is not None:
                    return lookup, []
            family = _family_in_message(tracker) or ("firm_category" if intent == "ask_definition" else None)
            year = edition_year(question, today=_today())
            ranked = service.ranked_measures(question, session=session, family=family,
                                             edition=str(year) if year else None, today=_today())
            if not ranked:
                return None, []
            score, measure = ranked[0]
            # A very short question that fits several measures: answer the likeliest, offer the others.
            others = [c for c in service.choices_if_unclear(question, ranked) if c.measure_id != measure.id]
            return service.measure_answer(measure, score), others

    @staticmethod
    def _utter(dispatcher: CollectingDispatcher, answer: service.MeasureAnswer, intent: str, *, staff: bool) -> None:
        where = dict(title=answer.title, document=answer.document, clause=answer.clause, source_url=answer.source_url)
        if answer.outline_only:
            dispatcher.utter_message(response="utter_measure_outline", summary=answer.summary, **where)
        elif intent == "ask_how_to_apply":
            if answer.how_to_apply:
                dispatcher.utter_message(response="utter_measure_how", how_to_apply=answer.how_to_apply,
                                         summary=answer.summary, department=answer.department or "见出处文件", **where)
            else:
                dispatcher.utter_message(response="utter_measure_how_unknown",
                                         department=answer.department or "见出处文件", **where)
        elif intent == "ask_contact":
            if answer.department:
                dispatcher.utter_message(response="utter_measure_contact", department=answer.department, **where)
            else:
                dispatcher.utter_message(response="utter_measure_contact_unknown", **where)
        else:
            if answer.key_figure:
                dispatcher.utter_message(response="utter_measure_answer", summary=answer.summary,
                                         key_figure=answer.key_figure, **where)
            else:
                dispatcher.utter_message(response="utter_measure_answer_no_figure", summary=answer.summary, **where)
            if answer.department and answer.how_to_apply:
                dispatcher.utter_message(response="utter_measure_apply", department=answer.department,
                                         how_to_apply=answer.how_to_apply)
            elif answer.department:
                dispatcher.utter_message(response="utter_measure_department", department=answer.department)
        if answer.contact and not answer.outline_only:
            dispatcher.utter_message(response="utter_measure_contact_person", contact=answer.contact)
        if staff and answer.internal_note:
            dispatcher.utter_message(response="utter_measure_staff_note", internal_note=answer.internal_note)
        if staff and answer.internal_contact:
            dispatcher.utter_message(response="utter_measure_staff_contact", internal_contact=answer.internal_contact)
        if answer.confidence == "low":
            dispatcher.utter_message(response="utter_measure_low_confidence")


def _find_family(question: str, family: str | None, edition: str | None) -> service.FamilyAnswer | None:
    with sessions()() as session:
        family = family or service.detect_family(question, session=session)
        if family is None:
            return None
        return service.describe_family(family, session=session, today=_today(), question=question, edition=edition)


class ActionDescribeFamily(Action):
    def name(self) -> str:
        return "action_describe_family"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if article_number(_text(tracker)):
            return await ActionAnswerMeasure().answer(dispatcher, tracker, "ask_measure")
        answer = await asyncio.to_thread(_find_family, _text(tracker), _family_in_message(tracker),
                                         _edition_in_message(tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_ask_which_family")
            return []
        dispatcher.utter_message(
            response="utter_family_overview",
            name=answer.name, title=answer.title, summary=answer.summary, issuer=answer.issuer,
            doc_number=answer.doc_number or "", published=answer.published, source_url=answer.source_url,
        )
        return []


class ActionList(Action):
    """The packages of an edition, the 32条's aspects, the 双尖双领 programmes."""

    def name(self) -> str:
        return "action_list"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lists = await asyncio.to_thread(self._lists, _text(tracker), _family_in_message(tracker),
                                        _edition_in_message(tracker))
        if lists is None:
            # "三个70%指哪三个", "七个不准有哪些": the items are inside one measure, not a document's lists.
            return await ActionAnswerMeasure().answer(dispatcher, tracker, "ask_measure")
        for found in lists[:2]:
            items = "\n".join(f"{i}. {item}" for i, item in enumerate(found.items, 1))
            dispatcher.utter_message(response="utter_list", title=found.title, items=items, source_url=found.source_url)
        return []

    @staticmethod
    def _lists(question: str, family: str | None, edition: str | None):
        with sessions()() as session:
            family = family or service.detect_family(question, session=session)
            if family is None:
                return None
            document = service.find_document(family, session=session, today=_today(), question=question,
                                             edition=edition)
            if document is None:
                return None
            if "清单" in question and "包" not in question:
                # The newest edition whose factor lists are known, when today's edition lacks them.
                candidates = [document] + ([] if edition else sorted(
                    queries.documents_of_family(family, session=session), key=lambda d: d.edition, reverse=True))
                for candidate in candidates:
                    lists = [found for found in service.document_lists(candidate) if "清单" in found.title]
                    if lists:
                        return lists
                return None
            return service.document_lists(document) or None


class ActionChanges(Action):
    """A figure across editions (三个70% → 三个80%), or an edition's funds year by year."""

    def name(self) -> str:
        return "action_changes"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        topic, figures = await asyncio.to_thread(self._changes, _text(tracker), _family_in_message(tracker))
        if len(figures) < 2:
            dispatcher.utter_message(response="utter_changes_not_found")
            return []
        lines = "\n".join(_line(domain, "utter_changes_line", year=f.year, figure=f.figure, title=f.title)
                          for f in figures)
        dispatcher.utter_message(response="utter_changes", topic=topic, lines=lines)
        return []

    @staticmethod
    def _changes(question: str, family: str | None):
        with sessions()() as session:
            topic, figures = service.changes_over_editions(question, session=session, today=_today())
            if len(figures) >= 2:
                return topic, figures
            family = family or service.detect_family(question, session=session)
            if family != "eight_plus_four":
                return topic, figures
            editions = [
                service.EditionFigure(f"{d.edition}年", service._document_title(d), f"省级财政支持{funds}")
                for d in queries.documents_of_family(family, session=session)
                if (funds := service.provincial_funds(d))
            ]
            return "“8+4”省级财政支持", editions


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        await asyncio.to_thread(_log_unanswered, tracker, "handoff")
        dispatcher.utter_message(response="utter_handoff")
        return []


class ActionCheckEligibility(Action):
    """The profile dialogue: use every fact given, ask only the fact that decides most, explain each verdict."""

    def name(self) -> str:
        return "action_check_eligibility"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = await asyncio.to_thread(self._run, dispatcher, tracker, domain)
        if events is None:
            return await ActionAnswerMeasure().answer(dispatcher, tracker, "ask_measure")
        return events

    def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict] | None:
        text = normalize(_text(tracker))
        intent = _intent(tracker)
        facts = dict(tracker.get_slot("firm_facts") or {})
        skipped = list(tracker.get_slot("skipped_fields") or [])
        asked = tracker.get_slot("asked_field")
        scope = tracker.get_slot("eligibility_scope")
        starting = intent == "ask_eligibility" or scope is None

        if intent == "skip" and asked:
            skipped.append(asked)
        else:
            extraction = extract(text, today=_today())
            found = dict(extraction.facts)
            if scope is None and intent != "ask_eligibility" and not found:
                return None  # not a firm fact: the caller answers it as a question
            if asked and asked not in found and intent != "ask_eligibility":
                parsed = parse(asked, text, today=_today())
                if isinstance(parsed, Parsed):
                    found[parsed.field] = parsed.value
                    if parsed.approximate:
                        dispatcher.utter_message(response="utter_fact_approximate",
                                                 value=format_value(parsed.field, parsed.value))
                else:
                    dispatcher.utter_message(response="utter_fact_problem", problem=parsed.message)
                    return []
            for name in extraction.approximate:
                dispatcher.utter_message(response="utter_fact_approximate", value=format_value(name, found[name]))
            facts.update(matching.jsonable_facts(found))
            skipped = [f for f in skipped if f not in found]

        with sessions()() as session:
            if intent == "ask_eligibility" or scope is None:
                scope = matching.scope_of(text, session=session, today=_today())
                if starting and scope.startswith(("all", "family:")) and not _asks_open(text) and \
                        service.ranked_measures(text, session=session, today=_today()):
                    return None  # "能优先给我们供地吗": a question about one measure, answered from the KB
            result = matching.match(facts, session=session, today=_today(), scope=scope, skipped=skipped)
        events = [SlotSet("firm_facts", facts), SlotSet("skipped_fields", skipped), SlotSet("eligibility_scope", scope)]
        if starting and scope.startswith("measure:"):
            # "个税能减半吗": the measure's own figures first, then only the facts that decide it.
            with sessions()() as session:
                answer = service.measure_by_id(scope.partition(":")[2], session=session)
            ActionAnswerMeasure._utter(dispatcher, answer, "ask_measure", staff=_is_staff(tracker))
        if not result.verdicts:
            dispatcher.utter_message(response="utter_eligibility_none")
            return events + [SlotSet("asked_field", None)]
        if result.next_field is not None:
            if starting:
                dispatcher.utter_message(response="utter_eligibility_intro")
            dispatcher.utter_message(response="utter_ask_fact", question=result.next_field.question)
            return events + [SlotSet("asked_field", result.next_field.name)]
        self._utter_result(dispatcher, domain, result)
        return events + [SlotSet("asked_field", None)]

    @staticmethod
    def _utter_result(dispatcher: CollectingDispatcher, domain: dict[str, Any], result: matching.MatchResult) -> None:
        if result.scope.startswith("category:"):
            verdict = result.verdicts[0]
            reasons = "；".join(r.explanation for r in (verdict.met if verdict.status == Status.ELIGIBLE.value
                                                        else verdict.failed))
            if verdict.status == Status.ELIGIBLE.value:
                dispatcher.utter_message(response="utter_category_yes", title=verdict.title, reasons=reasons)
            elif verdict.status == Status.NOT_ELIGIBLE.value:
                dispatcher.utter_message(response="utter_category_no", title=verdict.title, reasons=reasons)
            else:
                missing = "、".join(matching.field_label(f) for f in verdict.missing_fields)
                dispatcher.utter_message(response="utter_category_unknown", title=verdict.title, missing=missing)
            return
        lines = []
        for verdict in result.with_status(Status.ELIGIBLE):
            apply = f"；{verdict.how_to_apply}" if verdict.how_to_apply else ""
            lines.append(_line(domain, "utter_eligible_line", title=verdict.title, benefit=verdict.benefit, apply=apply))
        for verdict in result.with_status(Status.UNKNOWN):
            missing = "、".join(matching.field_label(f) for f in verdict.missing_fields)
            lines.append(_line(domain, "utter_possible_line", title=verdict.title, missing=missing))
        for verdict in result.with_status(Status.NOT_ELIGIBLE)[:5]:
            reason = verdict.failed[0].explanation if verdict.failed else ""
            lines.append(_line(domain, "utter_not_eligible_line", title=verdict.title, reason=reason))
        described = "，".join(f"{matching.field_label(k)}：{format_value(k, v)}" for k, v in result.facts.items()
                             if k in FIELDS)
        dispatcher.utter_message(response="utter_eligibility_result", facts=described or "未提供", lines="\n".join(lines))
