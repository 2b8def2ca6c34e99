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
        source_url=measure.sources[0].url,
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


def answer_measure(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None
) -> MeasureAnswer | None:
    """The best-matching measure, or None when nothing matches well enough to answer."""
    hits = search_measures(question, session=session, family=family, edition=edition, limit=1)
    if not hits and (family or edition):
        hits = search_measures(question, session=session, limit=1)
    if not hits or hits[0].score < MIN_SCORE:
        return None
    measure = queries.get_measure(hits[0].measure_id, session=session)
    return measure_answer(measure, hits[0].score)


def describe_family(
    family: str, *, session: Session, today: dt.date, edition: str | None = None
) -> FamilyAnswer | None:
    document = queries.document_in_force(family, session=session, today=today, edition=edition)
    if document is None:
        return None
    return FamilyAnswer(
        family=family,
        name=document.short_name or FAMILY_NAMES.get(family, document.title),
        title=_document_title(document),
        issuer=document.issuer or "",
        published=format_date(document.published) or document.edition,
        doc_number=document.doc_number,
        summary=document.summary,
        edition=document.edition,
        source_url=document.sources[0].url,
    )
