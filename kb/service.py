"""What the assistant asks of the knowledge base, as plain values ready for a response template.

Wording lives in the Rasa domain; this module only picks and formats the facts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from kb import queries
from kb.format import format_benefit, format_date, format_period
from kb.models import Document, Measure
from kb.search import Hit, index_for_revision

FAMILY_NAMES = {
    "private_economy_32": "民营经济32条",
    "eight_plus_four": "“8+4”经济政策体系",
    "shuangjian_shuangling": "“双尖双领”研发攻关计划",
    "firm_category": "企业类别认定",
}
# A hit must share this much evidence with the question to count as an answer rather than a guess.
MIN_SCORE = 2.0
MIN_COVERAGE = 0.35


@dataclass(frozen=True)
class MeasureAnswer:
    measure_id: str
    title: str
    summary: str
    key_figure: str | None
    document: str
    clause: str
    department: str | None
    how_to_apply: str | None
    period: str
    source_url: str
    outline_only: bool
    confidence: str
    score: float


@dataclass(frozen=True)
class FamilyAnswer:
    family: str
    name: str
    title: str
    issuer: str
    published: str
    doc_number: str | None
    summary: str
    edition: str
    source_url: str


def _document_title(document: Document) -> str:
    title = document.title.strip("《》")
    return f"《{title}》"


def _clause(measure: Measure) -> str:
    if measure.number:
        return f"第{measure.number}条"
    return measure.aspect or ""


def measure_answer(measure: Measure, score: float = 0.0) -> MeasureAnswer:
    figures = [format_benefit(b) for b in measure.benefits or [] if b.get("amount") is not None]
    return MeasureAnswer(
        measure_id=measure.id,
        title=measure.title,
        summary=measure.summary,
        key_figure="；".join(figures[:2]) or None,
        document=_document_title(measure.document),
        clause=_clause(measure),
        department=measure.department,
        how_to_apply=measure.how_to_apply,
        period=format_period(measure.valid_from, measure.valid_to),
        source_url=(measure.sources or measure.document.sources)[0].url,
        outline_only=measure.outline_only,
        confidence=measure.confidence,
        score=score,
    )


def search_measures(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None, limit: int = 5
) -> list[Hit]:
    revision = queries.latest_revision_id(session=session)
    index = index_for_revision(revision, lambda: queries.all_measures(session=session))
    return index.search(question, family=family, edition=edition, limit=limit)


# Phrases that ask how or where to apply; such a question prefers measures that say how.
_ASKS_HOW = ("怎么报", "怎么申", "如何申", "如何报", "申报流程", "申请流程", "去哪", "在哪", "怎么办理", "咋报")


def _rank(hit: Hit, measure: Measure, *, asks_how: bool, today: dt.date) -> float:
    """Retrieval score adjusted for what makes an answer useful now."""
    score = hit.score
    if measure.outline_only:
        score *= 0.5  # a full measure on the same topic says more than an outline
    if asks_how and measure.how_to_apply:
        score *= 1.3
    if measure.valid_to and measure.valid_to < today:
        score *= 0.85  # superseded figures stay answerable, but today's edition comes first
    return score


def answer_measure(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None,
    today: dt.date | None = None,
) -> MeasureAnswer | None:
    """The best-matching measure, or None when nothing matches well enough to answer."""
    today = today or dt.date.today()
    hits = search_measures(question, session=session, family=family, edition=edition, limit=10)
    if not hits and (family or edition):
        hits = search_measures(question, session=session, limit=10)
    hits = [h for h in hits if h.score >= MIN_SCORE and h.coverage >= MIN_COVERAGE]
    if not hits:
        return None
    asks_how = any(phrase in question for phrase in _ASKS_HOW)
    ranked = [(_rank(h, queries.get_measure(h.measure_id, session=session), asks_how=asks_how, today=today), h)
              for h in hits]
    score, best = max(ranked, key=lambda pair: (pair[0], pair[1].coverage))
    return measure_answer(queries.get_measure(best.measure_id, session=session), score)


def _names(document: Document) -> list[str]:
    return [n.lower().replace(" ", "") for n in filter(None, [document.short_name, *(document.aliases or [])])]


def detect_family(question: str, *, session: Session) -> str | None:
    """The family whose document name or alias the question contains (the longest match wins)."""
    matches = matching_documents(question, session=session)
    return matches[0].family if matches else None


def matching_documents(question: str, *, session: Session) -> list[Document]:
    """Documents named in the question, best match (longest name) first."""
    text = question.lower().replace(" ", "")
    scored = []
    for document in queries.all_documents(session=session):
        longest = max((len(name) for name in _names(document) if name in text), default=0)
        if longest:
            scored.append((longest, document))
    if not scored:
        return []
    best = max(length for length, _ in scored)
    return [document for length, document in scored if length == best]


def describe_family(
    family: str, *, session: Session, today: dt.date, question: str = "", edition: str | None = None
) -> FamilyAnswer | None:
    """The document the question names (the edition in force among several), else the family's umbrella."""
    named = [d for d in matching_documents(question, session=session) if d.family == family]
    if named and not edition:
        in_force = [d for d in named if d.valid_from is None or d.valid_from <= today]
        document = max(in_force or named, key=lambda d: d.edition)
    else:
        document = queries.document_in_force(family, session=session, today=today, edition=edition)
    if document is None:
        return None
    return FamilyAnswer(
        family=family,
        name=document.short_name or FAMILY_NAMES.get(family, document.title),
        title=_document_title(document),
        issuer=document.issuer or "",
        published=format_date(document.published),
        doc_number=document.doc_number,
        summary=document.summary,
        edition=document.edition,
        source_url=document.sources[0].url,
    )
