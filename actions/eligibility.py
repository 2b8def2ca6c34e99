"""The eligibility dialogue: use every fact given, ask only the fact that decides most, explain each verdict."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import answer_question, utter_measure
from actions.common import intent_name, line, message_text, sessions, today
from kb import matching, service
from kb.eligibility import Status, format_value
from kb.profile import FIELDS, Parsed, extract, parse
from kb.text import normalize

# Phrases of an open "what can we get" question, which starts the full profile dialogue.
OPEN_QUESTION = ("享受什么", "享受哪些", "能享受", "哪些政策", "什么政策", "符合哪些", "能拿哪些", "能拿什么",
                 "申请什么", "申请哪些", "哪些补贴", "哪些优惠", "匹配", "体检", "测算", "测一测", "有资格吗", "符合条件吗")


def _asks_open(text: str) -> bool:
    return any(phrase in text for phrase in OPEN_QUESTION)


def _asks_about_category(text: str, category: str) -> bool:
    """The asking clause names the category ("能申请专精特新吗"), rather than the firm describing itself with it."""
    clauses = [c for c in re.split(r"[，,。；;！!？?]", text) if c.strip()]
    asking = next((c for c in reversed(clauses) if any(m in c for m in _ASKING)), clauses[-1] if clauses else text)
    return any(name in asking for name in (category, *matching.CATEGORY_NAMES.get(category, ())))


_ASKING = ("吗", "么", "多少", "能否", "是否", "可以", "够不够", "能不能", "算不算", "行不行")


class ActionCheckEligibility(Action):
    """The profile dialogue: use every fact given, ask only the fact that decides most, explain each verdict."""

    def name(self) -> str:
        return "action_check_eligibility"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = await asyncio.to_thread(self._run, dispatcher, tracker, domain)
        if events is None:
            # A question is answered from the KB; a "reply" when nothing was asked ("pass", "asdkjh") is
            # an unclear message: tried against the KB too, else the general "please rephrase".
            unclear = intent_name(tracker) in ("skip", "inform")
            return await answer_question(dispatcher, tracker, domain, "nlu_fallback" if unclear else "ask_measure")
        return events

    def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict] | None:
        text = normalize(message_text(tracker))
        intent = intent_name(tracker)
        facts = dict(tracker.get_slot("firm_facts") or {})
        skipped = list(tracker.get_slot("skipped_fields") or [])
        asked = tracker.get_slot("asked_field")
        scope = tracker.get_slot("eligibility_scope")
        starting = intent == "ask_eligibility" or scope is None

        if intent == "skip" and asked:
            skipped.append(asked)
        else:
            extraction = extract(text, today=today())
            found = dict(extraction.facts)
            if scope is None and intent != "ask_eligibility" and not found:
                return None  # not a firm fact: the caller answers it as a question
            if asked and asked not in found and intent != "ask_eligibility":
                parsed = parse(asked, text, today=today())
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
                scope = matching.scope_of(text, session=session, today=today())
                ranked = service.ranked_measures(text, session=session, today=today()) if starting else []
                if starting and scope.startswith(("all", "family:")) and not _asks_open(text) and ranked:
                    return None  # "招标要求必须是国企，能投诉吗": a question about one measure, answered from the KB
                if starting and scope.startswith("category:") and ranked and \
                        not _asks_about_category(text, scope.partition(":")[2]):
                    return None  # "我们是专精特新，…能优先给我们供地吗": the category is a fact given, land is asked
            result = matching.match(facts, session=session, today=today(), scope=scope, skipped=skipped)
        events = [SlotSet("firm_facts", facts), SlotSet("skipped_fields", skipped), SlotSet("eligibility_scope", scope)]
        if starting and scope.startswith("measure:"):
            # "个税能减半吗": the measure's own figures first, then only the facts that decide it.
            events += utter_measure(dispatcher, tracker, domain, scope.partition(":")[2])
        elif starting and scope.startswith("category:"):
            # "能评高企吗？研发占比要求多少": the category's conditions first, then the verdict or the missing facts.
            with sessions()() as session:
                ranked = service.ranked_measures(text, session=session, family="firm_category", today=today())
                category = ranked[0][1].id if ranked and ranked[0][1].document.family == "firm_category" else None
            if category is not None:
                events += utter_measure(dispatcher, tracker, domain, category)
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
            lines.append(line(domain, "utter_eligible_line", title=verdict.title, benefit=verdict.benefit, apply=apply))
        for verdict in result.with_status(Status.UNKNOWN):
            missing = "、".join(matching.field_label(f) for f in verdict.missing_fields)
            lines.append(line(domain, "utter_possible_line", title=verdict.title, missing=missing))
        for verdict in result.with_status(Status.NOT_ELIGIBLE)[:5]:
            reason = verdict.failed[0].explanation if verdict.failed else ""
            lines.append(line(domain, "utter_not_eligible_line", title=verdict.title, reason=reason))
        described = "，".join(f"{matching.field_label(k)}：{format_value(k, v)}" for k, v in result.facts.items()
                             if k in FIELDS)
        dispatcher.utter_message(response="utter_eligibility_result", facts=described or "未提供", lines="\n".join(lines))
