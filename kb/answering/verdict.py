"""A yes/no question that states the firm's own facts ("员工600人还能入库吗") gets the rule's verdict first.

The answer path finds the measure; the eligibility engine judges the facts the question gives against the
measure's rule. Only conditions the facts reach are reported: a verdict on one fact never says "eligible"
unless the rule has nothing else to check.
"""

from __future__ import annotations

import datetime as dt

from kb.answering.question import Question
from kb.answering.reply import Line
from kb.answering.snapshot import MeasureRecord
from kb.answering.vocabulary import vocabulary
from kb.eligibility.engine import FactsError, RuleError, Status, evaluate, format_value
from kb.eligibility.parsing import extract
from kb.eligibility.profile import FIELDS

# "公司" in a question reads as entity_type 企业 without saying anything of the firm: not reason enough.
_IMPLIED = frozenset({"entity_type"})
# A title named in a question ("小巨人指的哪类企业") is what it asks about far more often than one the firm holds.
_NOT_THE_FIRMS = frozenset({"certifications"})
MAX_REASONS = 2
# Without the firm speaking of itself, only figures and a place are its facts ("临平的厂能…吗"): in
# "保险公司给小微企业的保单有优惠吗" the industry and the kind of firm are what the question is about, not who asks.
STATED_WITHOUT_SELF = frozenset({"money", "count", "ratio", "year", "region"})


def verdict_line(question: Question, measure: MeasureRecord | None, *, today: dt.date) -> Line | None:
    """The verdict of the measure's rule on the facts the question states, as the reply's first line."""
    if measure is None or not measure.rule or "yesno" not in question.wanted:
        return None
    facts = {k: v for k, v in extract(question.raw, today=today).facts.items()
             if not k.startswith("_") and k not in _NOT_THE_FIRMS}
    if not vocabulary().speaks_of_itself(question.raw):
        facts = {k: v for k, v in facts.items() if k in FIELDS and FIELDS[k].kind in STATED_WITHOUT_SELF}
    if not set(facts) - _IMPLIED:
        return None
    try:
        verdict = evaluate(measure.rule, facts, on=today, measure_id=measure.id)
    except (FactsError, RuleError):
        return None
    stated = "、".join(f"{FIELDS[name].label}{format_value(name, value)}" for name, value in facts.items()
                      if name not in _IMPLIED and name in FIELDS)
    if verdict.status is Status.NOT_ELIGIBLE:
        reasons = "；".join(f"“{f.explanation}”" for f in verdict.failed[:MAX_REASONS])
        return Line("utter_line_verdict_no", {"facts": stated, "reasons": reasons})
    if not verdict.met:
        return None  # the facts given decide none of its conditions
    met = "；".join(f.explanation for f in verdict.met[:MAX_REASONS])
    if verdict.status is Status.ELIGIBLE:
        return Line("utter_line_verdict_yes", {"facts": stated, "met": met})
    remaining = [FIELDS[name].label for name in verdict.undecided_fields if name in FIELDS] + list(verdict.to_confirm)
    return Line("utter_line_verdict_open", {"facts": stated, "met": met,
                                            "remaining": "、".join(remaining[:3]) or "其他条件"})
