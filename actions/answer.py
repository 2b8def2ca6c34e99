"""Answering actions: facts, lists, changes over editions and hand-offs, each found by kb retrieval.

SQLAlchemy is synchronous, so each action does its knowledge-base work in a worker
thread (asyncio.to_thread) and keeps the action server's event loop free.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    edition_in_message,
    family_in_message,
    intent_name,
    is_staff,
    line,
    log_unanswered,
    message_text,
    sessions,
    today,
)
from kb import queries, service
from kb.search import tokenize
from kb.text import article_number, edition_year, normalize, other_region


def _shown(answer: service.MeasureAnswer) -> str:
    """The words a measure reply shows, to tell what a further fact would add."""
    return " ".join(filter(None, [answer.title, answer.summary, answer.key_figure, answer.how_to_apply,
                                  answer.department]))


def _utter_fact(dispatcher: CollectingDispatcher, fact: service.Fact) -> None:
    dispatcher.utter_message(response="utter_list", title=fact.title, items=fact.text, source_url=fact.source_url)


def _utter_changes(dispatcher: CollectingDispatcher, domain: dict[str, Any], topic: str,
                   figures: list[service.EditionFigure]) -> None:
    lines = "\n".join(line(domain, "utter_changes_line", year=f.year, figure=f.figure, title=f.title or topic)
                      for f in figures)
    dispatcher.utter_message(response="utter_changes", topic=topic, lines=lines)


def _recorded_changes(question: str) -> tuple[str, list[service.EditionFigure]]:
    with sessions()() as session:
        return service.changes_over_editions(question, session=session, today=today(), recorded_only=True)


# A retrieval score no off-topic question reaches: on the development set, policy questions the NLU
# took for out of scope mostly scored 28–86, off-topic ones (天气, 股票, 个人所得税, 写代码) at most 22.
OUT_OF_SCOPE_OVERRIDE_SCORE = 26.0


def _strongly_matched(question: str) -> bool:
    with sessions()() as session:
        ranked = service.ranked_measures(question, session=session, today=today())
    return bool(ranked) and ranked[0][0] >= OUT_OF_SCOPE_OVERRIDE_SCORE


async def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any],
                          intent: str = "ask_measure") -> list[dict[str, Any]]:
    """Answer the latest message as a question about the knowledge base (used by other features' actions)."""
    return await ActionAnswerMeasure().answer(dispatcher, tracker, intent, domain)


def utter_measure(dispatcher: CollectingDispatcher, tracker: Tracker, answer: service.MeasureAnswer) -> None:
    """A measure's figures, department and source, as a fact answer shows them."""
    ActionAnswerMeasure._utter(dispatcher, answer, "ask_measure", staff=is_staff(tracker))


class ActionAnswerMeasure(Action):
    """Facts, how to apply, whom to contact and definitions: one measure found by kb retrieval."""

    def name(self) -> str:
        return "action_answer_measure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return await self.answer(dispatcher, tracker, intent_name(tracker), domain)

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str,
                     domain: dict[str, Any]) -> list[dict[str, Any]]:
        question = self._question(tracker)
        region = other_region(question)
        if region:
            dispatcher.utter_message(response="utter_out_of_scope_region", region=region)
            return []
        if intent == "out_of_scope":
            if not await asyncio.to_thread(_strongly_matched, question):
                dispatcher.utter_message(response="utter_out_of_scope")
                return []
            intent = "ask_measure"  # "社保科创基金首期规模": the classifier's guess yields to the knowledge base
        if intent != "choose_measure" and service.asks_over_time(question) and not service.asks_items(question):
            # "山区26县后来怎么调整的", "申报平台这几年换过吗": a recorded history answers, if there is one.
            topic, figures = await asyncio.to_thread(_recorded_changes, question)
            if len(figures) >= 2:
                _utter_changes(dispatcher, domain, topic, figures)
                if question.count("？") + question.count("?") >= 2:
                    intent = "ask_measure"  # "之前补20%…现在提高了？手机能补吗？": the current measure answers the rest
                else:
                    return [SlotSet("last_question", question)]
        found, others, fact = await asyncio.to_thread(self._find, tracker, intent, question)
        if isinstance(found, service.ArticleLookup):
            if found.answer is None:
                dispatcher.utter_message(response="utter_article_text_missing", document=found.document,
                                         number=found.number, source_url=found.source_url)
                return [SlotSet("last_question", question)]
            found = found.answer
        if found is None and fact is None:
            await asyncio.to_thread(log_unanswered, tracker, "unanswered")
            # An unclear message that retrieval cannot place either gets the general fallback.
            dispatcher.utter_message(response="utter_default" if intent == "nlu_fallback" else "utter_measure_not_found")
            return []
        if found is not None:
            self._utter(dispatcher, found, intent, staff=is_staff(tracker))
        if fact is not None:
            _utter_fact(dispatcher, fact)
        if others:
            buttons = [{"title": c.title, "payload": f'/choose_measure{{"measure_id": "{c.measure_id}"}}'}
                       for c in others]
            dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return [SlotSet("last_question", question)]

    @staticmethod
    def _question(tracker: Tracker) -> str:
        """The question to answer; a bare follow-up ("那2025年呢") borrows the previous question's topic."""
        text = message_text(tracker)
        previous = tracker.get_slot("last_question")
        year = edition_year(text, today=today())
        # A follow-up names nothing but a year, "呢" or what it wants ("找哪个部门", "怎么申报"):
        # no word of its own that retrieval could use, so the previous question's topic carries over.
        own_words = [t for t in tokenize(normalize(text)) if not t.isdigit()]
        if previous and not own_words:
            if year:
                # "2024年", "24年版", but not the 70 of "三个70%".
                without_year = re.sub(r"20\d\d\s*(?:年度|年版|年|版)?|(?<!\d)\d\d\s*(?:年度|年版|年)", "", previous)
                return f"{year}年{without_year}"
            return f"{text} {previous}" if text.rstrip("？?").endswith("呢") else f"{previous} {text}"
        return text

    @staticmethod
    def _find(tracker: Tracker, intent: str, question: str):
        """The measure to answer with (or an article lookup), up to three others to offer, and a fact.

        The fact is what the answer leaves out: a document's structure entry or a line of the measure's note.
        """
        with sessions()() as session:
            if intent == "choose_measure":
                measure_id = next(tracker.get_latest_entity_values("measure_id"), None)
                return (service.measure_by_id(measure_id, session=session) if measure_id else None), [], None
            number = article_number(question)
            if number:
                lookup = service.article(question, number, session=session, today=today())
                if lookup is not None:
                    return lookup, [], None
            family = family_in_message(tracker) or ("firm_category" if intent == "ask_definition" else None)
            year = edition_year(question, today=today())
            ranked = service.ranked_measures(question, session=session, family=family,
                                             edition=str(year) if year else None, today=today())
            if not ranked:
                return None, [], service.relevant_fact(question, session=session, today=today())
            score, measure = ranked[0]
            # A very short question that fits several measures: answer the likeliest, offer the others.
            others = [c for c in service.choices_if_unclear(question, ranked) if c.measure_id != measure.id]
            answer = service.measure_answer(measure, score, service.clean_question(question, session=session))
            fact = service.relevant_fact(question, session=session, shown=_shown(answer), measure=measure,
                                         today=today())
            return answer, others, fact

    @staticmethod
    def _utter(dispatcher: CollectingDispatcher, answer: service.MeasureAnswer, intent: str, *, staff: bool) -> None:
        where = dict(title=answer.title, document=answer.document, clause=answer.clause, source_url=answer.source_url)
        if answer.outline_only:
            dispatcher.utter_message(response="utter_measure_outline", summary=answer.summary, **where)
            if answer.how_to_apply:  # the text is unknown, but where to go is (“可向招投标监管部门投诉”)
                dispatcher.utter_message(response="utter_measure_apply", department=answer.department or "见出处文件",
                                         how_to_apply=answer.how_to_apply)
        elif intent == "ask_how_to_apply":
            if answer.how_to_apply:
                dispatcher.utter_message(response="utter_measure_how", how_to_apply=answer.how_to_apply,
                                         summary=answer.summary, department=answer.department or "见出处文件", **where)
            elif answer.key_figure:
                # "在淳安报尖兵自筹要多少": the figure asked for is known even though how to apply is not.
                dispatcher.utter_message(response="utter_measure_answer", summary=answer.summary,
                                         key_figure=answer.key_figure, **where)
                dispatcher.utter_message(response="utter_measure_how_missing",
                                         department=answer.department or "见出处文件")
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


def _describe(question: str, family: str | None, edition: str | None):
    """The family overview, plus a fact of its documents when the question asks about more than the name.

    None as the overview when the question is about one measure rather than the family ("32条 tax benefit").
    """
    with sessions()() as session:
        family = family or service.detect_family(question, session=session)
        if family is None:
            return None, None
        answer = service.describe_family(family, session=session, today=today(), question=question, edition=edition)
        if answer is None:
            return None, None
        # What the overview shows, with the words of its 发文 line ("文号是什么" is answered by it).
        shown = " ".join([answer.name, answer.title, answer.summary, "发文 文号 印发", answer.issuer,
                          answer.doc_number or "", answer.published])
        left_out = service.uncovered(question, shown, session=session)
        if left_out < 0.5:
            return answer, None
        fact = service.relevant_fact(question, session=session, shown=shown, today=today())
        if fact is not None:
            return answer, fact
        ranked = service.ranked_measures(question, session=session, today=today())
        measure = ranked[0][1] if ranked else None
        if measure is not None and service.uncovered(question, " ".join([shown, _shown(service.measure_answer(
                measure))]), session=session) < left_out - 0.25:
            return None, None  # the measure says what the overview does not
        return answer, None


class ActionDescribeFamily(Action):
    def name(self) -> str:
        return "action_describe_family"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if article_number(message_text(tracker)):
            return await ActionAnswerMeasure().answer(dispatcher, tracker, "ask_measure", domain)
        answer, fact = await asyncio.to_thread(_describe, message_text(tracker), family_in_message(tracker),
                                               edition_in_message(tracker))
        if answer is None:
            # Not a question about a family as a whole ("民营经济增加值占GDP 2027年目标是多少"): the measure
            # retrieval finds answers it, and only a question nothing matches asks which family is meant.
            found = await asyncio.to_thread(self._measure_found, message_text(tracker))
            if found:
                return await ActionAnswerMeasure().answer(dispatcher, tracker, "ask_measure", domain)
            dispatcher.utter_message(response="utter_ask_which_family")
            return []
        dispatcher.utter_message(
            response="utter_family_overview",
            name=answer.name, title=answer.title, summary=answer.summary, issuer=answer.issuer,
            doc_number=answer.doc_number or "", published=answer.published, source_url=answer.source_url,
        )
        if fact is not None:
            _utter_fact(dispatcher, fact)
        return []

    @staticmethod
    def _measure_found(question: str) -> bool:
        with sessions()() as session:
            return bool(service.ranked_measures(question, session=session, today=today())
                        or service.relevant_fact(question, session=session, today=today()))


# Words naming the lists a document keeps (政策包, 要素清单, 五个方面, 几类计划): such a question wants those lists.
_LIST_WORDS = ("包", "清单", "方面", "类", "计划")


class ActionList(Action):
    """The packages of an edition, the 32条's aspects, the 双尖双领 programmes, or another list a document keeps."""

    def name(self) -> str:
        return "action_list"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lists, fact = await asyncio.to_thread(self._lists, message_text(tracker), family_in_message(tracker),
                                              edition_in_message(tracker))
        if fact is not None:
            _utter_fact(dispatcher, fact)
            return []
        if lists is None:
            # "三个70%指哪三个", "七个不准有哪些": the items are inside one measure, not a document's lists.
            return await ActionAnswerMeasure().answer(dispatcher, tracker, "ask_measure", domain)
        for found in lists[:2]:
            items = "\n".join(f"{i}. {item}" for i, item in enumerate(found.items, 1))
            dispatcher.utter_message(response="utter_list", title=found.title, items=items, source_url=found.source_url)
        return []

    @staticmethod
    def _lists(question: str, family: str | None, edition: str | None):
        """The document's lists (or None), or instead another fact when the lists are not what is asked."""
        with sessions()() as session:
            family = family or service.detect_family(question, session=session)
            if family is None:
                return None, None
            document = service.find_document(family, session=session, today=today(), question=question,
                                             edition=edition)
            if document is None:
                return None, None
            newest_first = [] if edition else sorted(
                queries.documents_of_family(family, session=session), key=lambda d: d.edition, reverse=True)
            if "清单" in question and "包" not in question:
                # The newest edition whose factor lists are known, when today's edition lacks them.
                for candidate in [document, *newest_first]:
                    lists = [found for found in service.document_lists(candidate) if "清单" in found.title]
                    if lists:
                        return lists, None
                return None, None
            lists = service.document_lists(document)
            if lists and "包" not in question and not any("清单" in found.title for found in lists):
                # "8+4是哪8个哪4个": the packages, and the factor lists of the newest edition that names them.
                factor_lists = next((found for candidate in newest_first for found in service.document_lists(candidate)
                                     if "清单" in found.title), None)
                if factor_lists is not None:
                    lists.append(factor_lists)
            shown = " ".join(f"{found.title} {' '.join(found.items)}" for found in lists)
            names_a_list = any(word in question for word in _LIST_WORDS)
            if lists and not names_a_list and service.uncovered(question, shown, session=session) >= 0.5:
                # "32条1+N里的N文件有哪些": not the aspects; another list or fact of the documents answers.
                fact = service.relevant_fact(question, session=session, shown=shown, today=today())
                if fact is not None:
                    return None, fact
            return lists or None, None


class ActionChanges(Action):
    """A figure across editions (三个70% → 三个80%), a structure entry edition by edition, or an edition's funds."""

    def name(self) -> str:
        return "action_changes"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = message_text(tracker)
        if not _asks_change(text):
            # "三个到位计划里到2027年…目标多少家": a year but no comparison; the measure answers it.
            return await ActionAnswerMeasure().answer(dispatcher, tracker, "ask_measure", domain)
        if not service.asks_over_time(text) and not re.search(r"20\d\d|\d\d年", text):
            # "尖兵和领雁有啥区别": two things compared, not two years; their description answers.
            return await ActionDescribeFamily().run(dispatcher, tracker, domain)
        topic, figures = await asyncio.to_thread(self._changes, text, family_in_message(tracker))
        if len(figures) < 2:
            dispatcher.utter_message(response="utter_changes_not_found")
            return []
        _utter_changes(dispatcher, domain, topic, figures)
        return []

    @staticmethod
    def _changes(question: str, family: str | None):
        with sessions()() as session:
            family = family or service.detect_family(question, session=session)
            if family:
                compared = service.editions_compared(question, family, session=session, today=today())
                if len(compared) >= 2:
                    return f"{service.FAMILY_NAMES.get(family, family)}各版本", compared
            topic, figures = service.changes_over_editions(question, session=session, today=today())
            if len(figures) >= 2 or family != "eight_plus_four":
                return topic, figures
            # Nothing more specific: how the edition's provincial funds went year by year.
            return "“8+4”省级财政资金", service.structure_over_editions(family, "provincial_funds", session=session)


# Words that compare: with none of them, a question the NLU took for "changes" asks a plain fact.
_COMPARISON = re.compile(r"变|改|调整|后来|以前|之前|往年|历年|几年|换|演变|升级|区别|不同|不一样|一回事|原来|提高|降低"
                         r"|多了|少了|比(?!例|重|率)")


def _asks_change(text: str) -> bool:
    return bool(_COMPARISON.search(normalize(text)))


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        await asyncio.to_thread(log_unanswered, tracker, "handoff")
        dispatcher.utter_message(response="utter_handoff")
        return []
