"""The eligibility dialogue: every fact in every message, a question only while it decides, a short result.

Every message is read for every fact; only a fact that still decides something is asked; the result is short
(counts, the most valuable benefits, what would decide the rest) with the full list on request.

The answer path is reached only through `answer_question`, `answer_and_resume` and `utter_measure`
(actions/answer.py); after a question asked mid-dialogue, `answer_and_resume` re-asks the pending fact.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import CONTEXT_SLOT, answer_and_resume, answer_question, utter_measure
from actions.common import intent_name, line, message_text, sessions, today
from actions.firm_facts import describes_firm, with_facts
from kb.answering.followup import topic_measure
from kb.answering.respond import family_named, measures_asked_about
from kb.answering.snapshot import snapshot
from kb.answering.vocabulary import vocabulary
from kb.eligibility import Status, format_value
from kb.eligibility import service as eligibility
from kb.eligibility.parsing import corrected_figure, extract
from kb.eligibility.profile import DERIVED_FROM, FIELDS, Extraction, Parsed, Problem, derive, parse
from kb.text import normalize

# A firm answers a few questions, not a questionnaire: after these, the result says what would decide the rest.
MAX_QUESTIONS = 6
_QUESTION = "question"  # _run's answer for a question asked mid-dialogue
_QUESTIONISH = re.compile(r"[?？吗呢么]\s*$|多少|怎么|什么|哪些|哪个|哪档|是否|能不能|要求|条件")
_NO_ANSWER = re.compile(r"\s*(?:没有|没|无|不知道|不清楚|不记得了?|说不准|不方便说|不好说|暂时没有)[了啊呢吧。.!！]*\s*")
TOP_ITEMS = 4  # benefits named in the short result

FIGURE_KINDS = ("money", "count", "ratio")  # facts stated as a figure (a correction gives one)


def _asks_open(text: str) -> bool:
    return any(phrase in text for phrase in vocabulary().open_eligibility)


def _asks_about_category(text: str, category: str) -> bool:
    """The asking clause names the category ("能申请专精特新吗"), rather than the firm describing itself with it."""
    clauses = [c for c in re.split(r"[，,。；;！!？?]", text) if c.strip()]
    asking = next((c for c in reversed(clauses) if any(m in c for m in vocabulary().asking)), clauses[-1] if clauses else text)
    return any(name in asking for name in (category, *eligibility.category_names().get(category, ())))


def _named_category(text: str, facts: dict[str, Any]) -> str | None:
    """The category a message names ("那科小呢"), unless it is a title the firm holds."""
    held = set(facts.get("certifications") or ())
    for category, names in eligibility.category_names().items():
        if any(name in text for name in (category, *names)) and not any(h[:2] in category for h in held):
            return category
    return None


def _chat_scope(text: str, facts: dict[str, Any], *, session) -> str:
    """What an opening message asks about: a category or one measure it names, a family, else everything.

    A certification the firm already holds is a fact, never the scope.
    """
    named = _named_category(text, facts)
    if named:
        return eligibility.category_scope(named, session=session)
    family = family_named(text, session=session)
    ranked = measures_asked_about(text, session=session, today=today())
    if ranked and ranked[0][1].rule and not ranked[0][1].outline_only and (
            family is None or ranked[0][1].document_id in _documents_of(family, session)) and any(
            keyword in text for keyword in ranked[0][1].keywords or [] if len(keyword) >= 2):
        return f"measure:{ranked[0][1].id}"
    return f"family:{family}" if family else "all"


def _documents_of(family: str, session) -> set[str]:
    return {d.id for d in snapshot(session=session).documents_of_family(family)}


class ActionCheckEligibility(Action):
    """The profile dialogue: use every fact given, ask only the fact that decides most, explain each verdict."""

    def name(self) -> str:
        """The action's name in the domain: action_check_eligibility."""
        return "action_check_eligibility"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """One turn of the profile dialogue; a question asked in it is answered from the KB, then the fact re-asked."""
        events = await asyncio.to_thread(self._run, dispatcher, tracker, domain)
        if events == _QUESTION:
            # A question in the middle of the dialogue ("研发人员要占多少呢"): answered, then the pending fact re-asked.
            return await answer_and_resume(dispatcher, tracker, domain)
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
        ranges = dict(tracker.get_slot("fact_ranges") or {})
        skipped = list(tracker.get_slot("skipped_fields") or [])
        asked = tracker.get_slot("asked_field")
        scope = tracker.get_slot("eligibility_scope")
        done = bool(tracker.get_slot("eligibility_done"))
        questions = int(tracker.get_slot("questions_asked") or 0)
        starting = intent == "ask_eligibility" or scope is None
        if not starting and scope.startswith(("category:", "measure:")) and intent not in ("skip", "show_results"):
            # "换成高企看看？研发一年四百万" while 科小 was being checked: the new category is checked from here.
            named = _named_category(text, facts)
            if named is not None:
                with sessions()() as session:
                    starting = eligibility.category_scope(named, session=session) != scope

        if intent == "show_results":
            if scope is None:
                dispatcher.utter_message(response="utter_eligibility_no_result")
                return []
            with sessions()() as session:
                result = eligibility.match(facts, session=session, today=today(), scope=scope, skipped=skipped,
                                           approximate=_ranges(ranges))
            self._utter_full(dispatcher, domain, result)
            return [SlotSet("eligibility_done", True)]
        if intent == "skip" and done and not asked:
            dispatcher.utter_message(response="utter_eligibility_already")  # the result is not repeated
            return []

        found: dict[str, Any] = {}
        before = dict(facts)
        extraction = extract(text, today=today(), asked=asked if intent not in ("ask_eligibility", "skip") else None)
        # A message that only tells about the firm, whatever the classifier made of it ("咱们厂在岱山"), when no
        # dialogue is going on (nothing was asked, so the facts are read as describes_firm reads them).
        describing = scope is None and intent not in ("ask_eligibility", "skip") and describes_firm(
            text, extraction.facts)
        if facts and not any(FIELDS[name].kind in FIGURE_KINDS for name in extraction.facts if name in FIELDS):
            # "刚才说错了，是六千二百万": a bare figure correcting the fact of its kind said last (facts are kept in
            # order), also beside other facts that carry no figure ("看错了，是两千一，我们是有限公司").
            correction = corrected_figure(text, list(facts))
            if correction.facts:
                extraction = Extraction({**extraction.facts, **correction.facts},
                                        extraction.approximate | correction.approximate, extraction.problems,
                                        {**extraction.ranges, **correction.ranges})
        if intent == "skip" and asked and not extraction.facts:
            skipped.append(asked)
        else:
            # "这个我不知道，会计管的。一年大概赚个一百来万吧": a "don't know" that still gives a fact gives it.
            found = dict(extraction.facts)
            if scope is None and intent != "ask_eligibility" and not found:
                return None  # not a firm fact: the caller answers it as a question
            if asked and not found and intent != "ask_eligibility" and _QUESTIONISH.search(text):
                return _QUESTION
            if asked and not found and intent != "ask_eligibility":
                parsed = parse(asked, text, today=today())
                if isinstance(parsed, Problem) and _NO_ANSWER.fullmatch(text):
                    skipped.append(asked)  # "没有" to a question a firm cannot answer that way: move on
                elif isinstance(parsed, Problem):
                    dispatcher.utter_message(response="utter_fact_problem", problem=parsed.message)
                    return []
                if isinstance(parsed, Parsed):
                    found[parsed.field] = parsed.value
            for name, problem in extraction.problems.items():
                if name in FIELDS and name not in found and name == asked:
                    dispatcher.utter_message(response="utter_fact_problem", problem=problem)
                    return []
            hedged = [f"{FIELDS[name].label}{format_value(name, found[name])}"
                      for name in sorted(extraction.approximate & set(found))
                      if name in FIELDS and FIELDS[name].kind in FIGURE_KINDS]
            # What was understood, so a misreading is seen at once; estimates get their own line.
            noted = [f"{FIELDS[name].label}{format_value(name, value)}" for name, value in found.items()
                     if name in FIELDS and value not in (None, [], ()) and name not in extraction.approximate]
            if noted and not starting:  # a first message is answered by what it asks, then the intro
                dispatcher.utter_message(response="utter_facts_noted", facts="、".join(noted))
            if hedged:  # one line for all the estimates in a message
                dispatcher.utter_message(response="utter_fact_approximate", value="、".join(hedged))
            # A fact given again replaces the old one ("不对，我们有320人"), with its range if it is hedged.
            facts, ranges = with_facts(facts, ranges, found, extraction.ranges)
            skipped = [f for f in skipped if f not in found]

        with sessions()() as session:
            # Facts right after an answer about a measure with rules are judged on it ("尖兵项目企业要出多少钱" → "咱家在云和",
            # "高企研发占比要求" → "研发一年两百来万").
            topic = topic_measure(tracker.get_slot(CONTEXT_SLOT), snapshot(session=session)) \
                if starting and intent != "ask_eligibility" else None
            if starting and (describing or (topic and found and not vocabulary().asks(text))):
                scope = f"measure:{topic}" if topic else "all"
                describing = True
                questions = 0
            elif starting:
                scope = _chat_scope(text, facts, session=session)
                ranked = measures_asked_about(text, session=session, today=today())
                if scope.startswith(("all", "family:")) and not _asks_open(text) and ranked:
                    return None  # "招标要求必须是国企，能投诉吗": a question about one measure, answered from the KB
                named = _named_category(text, facts)
                if named and ranked and not _asks_about_category(text, named):
                    return None  # "我们是专精特新，…能优先给我们供地吗": the category is a fact given, land is asked
                questions = 0
            result = eligibility.match(facts, session=session, today=today(), scope=scope, skipped=skipped,
                                       approximate=_ranges(ranges))
            if asked and found and asked not in found and result.next_field is not None and \
                    result.next_field.name == asked:
                # The firm answered something else: ask another fact first, and this one again only at the end.
                other = eligibility.match(facts, session=session, today=today(), scope=scope,
                                          skipped=[*skipped, asked], approximate=_ranges(ranges))
                if other.next_field is not None:
                    result = other
                    result.skipped = list(skipped)
            earlier = set() if starting or not found else {
                v.measure_id for v in eligibility.match(before, session=session, today=today(), scope=scope,
                                                        skipped=skipped).verdicts
                if v.status in (Status.ELIGIBLE.value, Status.LIKELY.value)}
        events = [SlotSet("firm_facts", facts), SlotSet("fact_ranges", ranges), SlotSet("skipped_fields", skipped),
                  SlotSet("eligibility_scope", scope)]
        if starting and scope.startswith("measure:") and not describing:
            # "个税能减半吗": the measure's own figures first, then only the facts that decide it.
            events += utter_measure(dispatcher, tracker, domain, scope.partition(":")[2])
        elif starting and scope.startswith("category:"):
            # "能评高企吗？研发占比要求多少": the category's conditions first, then the verdict or the missing facts.
            with sessions()() as session:
                ranked = measures_asked_about(text, session=session, family="firm_category", today=today())
                category = ranked[0][1].id if ranked else None
            if category is not None:
                events += utter_measure(dispatcher, tracker, domain, category)
        if not result.verdicts:
            dispatcher.utter_message(response="utter_eligibility_none")
            return events + [SlotSet("asked_field", None)]
        wide = scope.startswith(("all", "family:"))
        question = result.next_field
        if question is not None and not (wide and questions >= MAX_QUESTIONS):
            if starting:
                dispatcher.utter_message(response="utter_eligibility_intro")
            # What the facts given so far settle, before the next question; a first message that describes
            # the firm ("开化县开小超市的个体户") is answered with what it already decides.
            decided = [v for v in result.verdicts if v.measure_id not in earlier and v.status in (
                Status.ELIGIBLE.value, Status.LIKELY.value)] if found else []
            if decided:
                dispatcher.utter_message(response="utter_eligibility_progress",
                                         items="\n".join(_verdict_line(domain, v) for v in decided[:3]))
            pending = _pending_conditions(result) if found and not wide else None
            if pending:  # what the facts settle of one measure, and the tier they put the firm in ("…不低于4%")
                met, open_ = pending
                dispatcher.utter_message(response="utter_eligibility_pending", title=result.verdicts[0].title,
                                         met=line(domain, "utter_met_part", met="；".join(met)) if met else "",
                                         conditions="；".join(open_))
            dispatcher.utter_message(response="utter_ask_fact", question=question.question)
            return events + [SlotSet("asked_field", question.name), SlotSet("questions_asked", float(questions + 1)),
                             SlotSet("eligibility_done", False)]
        if result.scope.startswith(("category:", "measure:")) and len(result.verdicts) == 1:
            self._utter_category(dispatcher, domain, result)
        else:
            self._utter_summary(dispatcher, domain, result)
        return events + [SlotSet("asked_field", None), SlotSet("eligibility_done", True)]

    @staticmethod
    def _utter_category(dispatcher: CollectingDispatcher, domain: dict[str, Any],
                        result: eligibility.MatchResult) -> None:
        verdict = result.verdicts[0]
        if verdict.status in (Status.ELIGIBLE.value, Status.LIKELY.value):
            reasons = "；".join(r.explanation for r in verdict.met)
            if verdict.to_confirm:
                reasons += line(domain, "utter_to_confirm_part", items="、".join(verdict.to_confirm))
            # A measure's benefit figures come first ("所得额减按25%计入；税率20%"); a category has only its conditions.
            benefit = line(domain, "utter_benefit_part", benefit=verdict.benefit) if verdict.offers else ""
            dispatcher.utter_message(response="utter_category_yes", title=verdict.title, benefit=benefit,
                                     reasons=reasons)
        elif verdict.status == Status.NOT_ELIGIBLE.value:
            reasons = "；".join(r.explanation for r in verdict.failed)
            # The firm's own figure beside the condition it fails ("研发费用占营业收入比例5%").
            facts = derive(dict(result.facts))
            stated = "、".join(dict.fromkeys(
                f"{FIELDS[r.field].label}{format_value(r.field, facts[r.field])}" for r in verdict.failed
                if r.field in FIELDS and facts.get(r.field) is not None))
            dispatcher.utter_message(response="utter_category_no", title=verdict.title, reasons=reasons,
                                     stated=line(domain, "utter_stated_part", facts=stated) if stated else "")
        else:
            missing = "、".join(eligibility.field_label(f) for f in verdict.missing_fields)
            dispatcher.utter_message(response="utter_category_unknown", title=verdict.title, missing=missing)

    @staticmethod
    def _utter_summary(dispatcher: CollectingDispatcher, domain: dict[str, Any],
                       result: eligibility.MatchResult) -> None:
        """At most about 8 lines: counts, the top benefits with their figure and how to apply, what decides more."""
        by = {status: result.with_status(status) for status in Status}
        counts = line(domain, "utter_eligibility_counts_line", eligible=len(by[Status.ELIGIBLE]),
                      likely=len(by[Status.LIKELY]), unknown=len(by[Status.UNKNOWN]),
                      not_eligible=len(by[Status.NOT_ELIGIBLE]))
        top = [_verdict_line(domain, v) for v in (by[Status.ELIGIBLE] + by[Status.LIKELY])[:TOP_ITEMS]]
        deciding = list(dict.fromkeys(DERIVED_FROM.get(f, f) for v in by[Status.UNKNOWN] for f in v.missing_fields
                                      if f not in result.skipped))[:4]
        more = line(domain, "utter_eligibility_more_line",
                    fields="、".join(eligibility.field_label(f) for f in deciding)) if deciding else \
            line(domain, "utter_eligibility_all_line")
        dispatcher.utter_message(response="utter_eligibility_summary", facts=_described(domain, result.facts),
                                 counts=counts, lines="\n".join(top), more=more)

    @staticmethod
    def _utter_full(dispatcher: CollectingDispatcher, domain: dict[str, Any], result: eligibility.MatchResult) -> None:
        lines = [_verdict_line(domain, v) for status in (Status.ELIGIBLE, Status.LIKELY, Status.UNKNOWN)
                 for v in result.with_status(status)]
        for verdict in result.with_status(Status.NOT_ELIGIBLE):
            reason = verdict.failed[0].explanation if verdict.failed else ""
            lines.append(line(domain, "utter_not_eligible_line", title=verdict.title, reason=reason))
        dispatcher.utter_message(response="utter_eligibility_result", facts=_described(domain, result.facts),
                                 lines="\n".join(lines))


def _verdict_line(domain: dict[str, Any], verdict: eligibility.MeasureVerdict) -> str:
    if verdict.status == Status.ELIGIBLE.value:
        apply = f"；{verdict.how_to_apply}" if verdict.how_to_apply else ""
        return line(domain, "utter_eligible_line", title=verdict.title, benefit=verdict.benefit, apply=apply)
    if verdict.status == Status.LIKELY.value:
        return line(domain, "utter_likely_line", title=verdict.title, benefit=verdict.benefit,
                    confirm="、".join(verdict.to_confirm[:3]) + (
                        line(domain, "utter_list_more") if len(verdict.to_confirm) > 3 else ""))
    missing = "、".join(eligibility.field_label(DERIVED_FROM.get(f, f)) for f in verdict.missing_fields)
    return line(domain, "utter_possible_line", title=verdict.title, missing=missing)


def _pending_conditions(result: eligibility.MatchResult) -> tuple[list[str], list[str]] | None:
    """Of a one-measure result the facts have narrowed: the conditions met and those still open, else None.

    Open figures come before the official conditions to confirm.
    """
    verdict = result.verdicts[0] if len(result.verdicts) == 1 else None
    if verdict is None or verdict.status != Status.UNKNOWN.value or not verdict.met:
        return None
    open_ = sorted(dict.fromkeys(r.explanation for r in verdict.unknown), key=lambda e: e in verdict.to_confirm)
    return [r.explanation for r in verdict.met if r.field in FIELDS][:2], open_[:3]


def _described(domain: dict[str, Any], facts: dict[str, Any]) -> str:
    return "，".join(f"{eligibility.field_label(k)}：{format_value(k, v)}" for k, v in facts.items()
                    if k in FIELDS and v not in (None, [])) or line(domain, "utter_facts_none")


def _ranges(ranges: dict[str, Any]) -> dict[str, tuple[float | None, float | None]]:
    return {name: (bounds[0], bounds[1]) for name, bounds in ranges.items() if isinstance(bounds, (list, tuple))}

