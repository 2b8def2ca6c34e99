""""What can we get?": firm facts against every measure with a rule, plus the next question to ask.

One service for the chat dialogue, the staff tools, DingTalk's 帮企业查, the firm registry and the JSON API,
so all give the same verdicts, as one type, `MeasureVerdict`. A verdict is eligible, likely (every encoded
condition met, `to_confirm` names the official conditions the rule leaves out), not_eligible or unknown. Facts are in engine units (see kb.eligibility); `jsonable_facts` turns them into
plain JSON for a Rasa slot or an HTTP reply.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import weakref
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.currency import recurs_yearly
from kb.eligibility.engine import Status, Verdict, evaluate, evaluate_category, next_question
from kb.eligibility.profile import DERIVED_FROM, FIELDS, Field
from kb.eligibility.rulebook import default_rulebook
from kb.eligibility.wording import vocabulary
from kb.format import format_benefit
from kb.store.models import Measure
from kb.store.queries import latest_revision_id


@dataclass(frozen=True)
class Reason:
    """A condition's explanation and its reference, as a verdict reports it."""

    explanation: str
    ref: str | None
    field: str | None = None  # the fact it is about ("confirmed" for an official condition not encoded)


@dataclass(frozen=True)
class MeasureVerdict:
    """The verdict on one measure (or derived category) for a firm: its reasons, benefit and how to apply."""

    measure_id: str
    title: str
    family: str
    edition: str
    status: str
    met: tuple[Reason, ...]
    failed: tuple[Reason, ...]
    unknown: tuple[Reason, ...]
    missing_fields: tuple[str, ...]
    to_confirm: tuple[str, ...]
    benefit: str
    department: str | None
    how_to_apply: str | None
    source_url: str | None
    document: str = ""  # where the measure is written: "民营经济32条第3条"
    offers: bool = False  # `benefit` says what the firm gets, not only thresholds

    @property
    def missing(self) -> tuple[str, ...]:
        """Labels of the facts that would decide an undecided verdict."""
        return tuple(field_label(DERIVED_FROM.get(name, name)) for name in self.missing_fields)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why not, for a failed verdict."""
        return tuple(reason.explanation for reason in self.failed)


@dataclass
class MatchResult:
    """The verdicts in a scope on the facts, best first, and the next fact to ask for."""

    scope: str
    facts: dict[str, Any]
    verdicts: list[MeasureVerdict]
    next_field: Field | None
    skipped: list[str] = field(default_factory=list)

    def with_status(self, status: Status) -> list[MeasureVerdict]:
        """The verdicts of one status, best first."""
        return [v for v in self.verdicts if v.status == status.value]


_QUESTION = re.compile(r"[?？吗么]|能不能|可不可以|是否|够不够|算不算|符不符合|能否|有没有资格|能享受|可以享受|能申请|可以申请|能评|能报")


def scope_of(text: str, *, session: Session, today: dt.date | None = None,
             facts: Mapping[str, Any] | None = None) -> str:
    """What a firm's text asks about: "category:NAME" or "measure:ID" when a question names one, else "all".

    Only a question narrows: a description ("已经是高新技术企业了") states facts, and a certification the firm
    holds (in `facts`) is never what it asks about.
    """
    held = set((facts or {}).get("certifications") or ())
    for clause in re.split(r"[。！!；;\n]", text):
        if not _QUESTION.search(clause):
            continue
        for category, names in category_names().items():
            if any(name in clause for name in (category, *names)) and not _about_held(category, held):
                return category_scope(category, session=session)
        for measure in measures_with_rules(session=session):
            if any(len(k) >= 3 and k in clause for k in measure.keywords):
                return f"measure:{measure.measure_id}"
    return "all"


def category_names() -> dict[str, tuple[str, ...]]:
    """What firms call each derived category that a single check can be about (kb/rules/categories.yaml)."""
    return {name: category.aliases for name, category in default_rulebook().categories.items() if category.aliases}


def _about_held(category: str, held: set[str]) -> bool:
    """The category is about a title the firm already holds (高企研发费用比例 → 高新技术企业)."""
    return any(name[:2] in category for name in held)


@dataclass(frozen=True)
class RuleMeasure:
    """What a verdict needs of a measure with a rule, read once per KB revision (not per request)."""

    measure_id: str
    rule: Mapping[str, Any]
    valid_to: dt.date | None
    title: str
    family: str
    edition: str
    benefit: str
    department: str | None
    how_to_apply: str | None
    source_url: str | None
    keywords: tuple[str, ...] = ()
    document: str = ""
    offers: bool = False  # the benefit names what the firm gets, not only the thresholds it must meet
    recurs: bool = False  # a standing programme with a yearly call: its latest edition applies after it lapses

    @classmethod
    def of(cls, measure: Measure) -> RuleMeasure:
        """What a verdict needs of a measure: its rule, validity, benefit, department and where it is written."""
        benefits = _benefits_first(measure.benefits or [])
        figures = [format_benefit(b) for b in benefits if b.get("amount") is not None] or [
            b["what"] for b in measure.benefits or [] if b.get("what")]
        sources = measure.sources or measure.document.sources
        return cls(measure.id, measure.rule, measure.valid_to, measure.title, measure.document.family,
                   measure.document.edition, "；".join(figures[:2]) or measure.title, measure.department,
                   measure.how_to_apply, sources[0].url if sources else None, tuple(measure.keywords or ()),
                   _document_label(measure), bool(benefits) and not _is_threshold(benefits[0]),
                   recurs_yearly(measure))


def _is_threshold(benefit: dict) -> bool:
    """A figure that is a condition to meet ("从业人数上限"), by the words of kb/rules/facts.yaml threshold_labels."""
    return any(word in str(benefit.get("what") or "") for word in vocabulary().get("threshold_labels") or ())


def _benefits_first(benefits: list[dict]) -> list[dict]:
    """A measure's figures with what the firm gets before its thresholds."""
    return sorted(benefits, key=_is_threshold)


def _document_label(measure: Measure) -> str:
    document = measure.document
    name = document.short_name or document.title.strip("《》")
    return f"{name}第{measure.number}条" if measure.number else name


# Per database engine: (revision, measures with a rule). Held rules keep their compiled form in the
# engine's cache, so a check against 10,000 measures does not re-read and re-compile them per request.
_held: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_held_lock = threading.Lock()


def measures_with_rules(*, session: Session) -> tuple[RuleMeasure, ...]:
    """Every measure with an eligibility rule, read once per KB revision and database engine."""
    engine = session.get_bind()
    revision = latest_revision_id(session=session)
    with _held_lock:
        cached = _held.get(engine)
        if cached and cached[0] == revision:
            return cached[1]
    measures = session.execute(select(Measure).where(Measure.rule.isnot(None)).order_by(Measure.id)).scalars()
    held = tuple(RuleMeasure.of(m) for m in measures if m.rule)
    with _held_lock:
        _held[engine] = (revision, held)
    return held


def category_scope(name: str, *, session: Session) -> str:
    """The scope for a check of a category: its firm-category measure if it has one, else the category.

    The measure adds the official conditions the bare category leaves out (科技型中小企业规模条件 → fc-kjxzx, with
    the evaluation score to confirm) and the benefit the firm gets.
    """
    for measure in measures_with_rules(session=session):
        if measure.family == "firm_category" and _refers_to(measure.rule, name):
            return f"measure:{measure.measure_id}"
    return f"category:{name}"


def _refers_to(rule: Any, category: str) -> bool:
    if isinstance(rule, Mapping):
        return rule.get("category") == category or any(_refers_to(v, category) for v in rule.values())
    if isinstance(rule, list):
        return any(_refers_to(item, category) for item in rule)
    return False


def rules_in_force(*, session: Session, today: dt.date, family: str | None = None) -> list[RuleMeasure]:
    """Measures that have an eligibility rule and are in force today, or a yearly programme's latest edition.

    The seed marks only that edition `recurs: yearly`.
    """
    return [m for m in measures_with_rules(session=session)
            if (m.valid_to is None or m.valid_to >= today or m.recurs) and (family is None or m.family == family)]


def match(
    facts: Mapping[str, Any], *, session: Session, today: dt.date, scope: str = "all",
    skipped: Collection[str] = (), approximate: Collection[str] | Mapping[str, Any] = (),
) -> MatchResult:
    """Every verdict in scope on the facts; `approximate` names hedged figures, or maps them to their ranges."""
    kind, _, name = scope.partition(":")
    if kind == "category":
        category = default_rulebook().categories[name]
        verdict = evaluate_category(name, facts, on=today, approximate=approximate)
        rules = [(f"category:{name}", {"category": name})]
        verdicts = [_category_verdict(name, category.description, category.sources, verdict)]
    else:
        if kind == "measure":
            measures = [m for m in measures_with_rules(session=session) if m.measure_id == name]
        else:
            measures = rules_in_force(session=session, today=today, family=name if kind == "family" else None)
        rules = [(m.measure_id, m.rule) for m in measures]
        verdicts = [_measure_verdict(m, evaluate(m.rule, facts, on=today, measure_id=m.measure_id,
                                                 approximate=approximate), today)
                    for m in measures]
    order = {Status.ELIGIBLE.value: 0, Status.LIKELY.value: 1, Status.UNKNOWN.value: 2, Status.NOT_ELIGIBLE.value: 3}
    verdicts.sort(key=lambda v: (order[v.status], v.family, v.measure_id))
    # A figure given as an estimate ("1900来万") is not asked again even when it straddles a threshold: the
    # verdict says what it depends on, and the firm may correct it.
    given = [name for name in approximate if facts.get(name) is not None]
    question = next_question(rules, facts, on=today, exclude=[*skipped, *given], approximate=approximate)
    return MatchResult(scope, dict(facts), verdicts, question, list(skipped))


def _reasons(findings) -> tuple[Reason, ...]:
    return tuple(Reason(f.explanation, f.ref, f.field) for f in findings)


def _measure_verdict(measure: RuleMeasure, verdict: Verdict, today: dt.date) -> MeasureVerdict:
    title = measure.title
    if measure.recurs and measure.valid_to is not None and measure.valid_to < today:
        # Judged on the latest edition the knowledge base has: say so, and that the new call decides.
        title = f"{title}（按{measure.edition}年版口径，{today.year}年度以新通知为准）"
    return MeasureVerdict(
        measure_id=measure.measure_id, title=title, family=measure.family, edition=measure.edition,
        status=verdict.status.value, met=_reasons(verdict.met), failed=_reasons(verdict.failed),
        unknown=_reasons(verdict.undecided), missing_fields=verdict.undecided_fields,
        to_confirm=verdict.to_confirm, benefit=measure.benefit,
        department=measure.department, how_to_apply=measure.how_to_apply, source_url=measure.source_url,
        document=measure.document, offers=measure.offers,
    )


def _category_verdict(name: str, description: str, sources, verdict: Verdict) -> MeasureVerdict:
    return MeasureVerdict(
        measure_id=f"category:{name}", title=name, family="firm_category", edition="", status=verdict.status.value,
        met=_reasons(verdict.met), failed=_reasons(verdict.failed), unknown=_reasons(verdict.undecided),
        missing_fields=verdict.undecided_fields, to_confirm=verdict.to_confirm, benefit=description,
        department=None, how_to_apply=None,
        source_url=sources[0] if sources else None,
    )


def jsonable_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts as plain JSON (sets become sorted lists) for a slot or an HTTP reply."""
    return {k: sorted(v) if isinstance(v, (set, frozenset)) else v for k, v in facts.items() if v is not None}


def field_label(name: str) -> str:
    """The label of a fact field as readers see it ("员工人数"), or the name itself for a field not known."""
    spec = FIELDS.get(name)
    return spec.label if spec else name
