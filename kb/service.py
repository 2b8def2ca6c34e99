"""What the assistant asks of the knowledge base, as plain values ready for a response template.

Wording lives in the Rasa domain; this module only picks and formats the facts.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from kb import queries
from kb.format import format_amount, format_benefit, format_date, format_period
from kb.models import AskedQuestion, Document, Measure
from kb.search import Hit, index_for_revision, tokenize
from kb.text import question_in

FAMILY_NAMES = {
    "private_economy_32": "民营经济32条",
    "eight_plus_four": "“8+4”经济政策体系",
    "shuangjian_shuangling": "“双尖双领”研发攻关计划",
    "firm_category": "企业类别认定",
}
# A hit must share this much evidence with the question to count as an answer rather than a guess.
MIN_SCORE = 2.0
MIN_COVERAGE = 0.35
# Phrases that ask how or where to apply; such a question prefers measures that say how.
_ASKS_HOW = ("怎么报", "怎么申", "如何申", "如何报", "申报流程", "申请流程", "去哪", "在哪", "怎么办理", "咋报", "怎么领")


@dataclass(frozen=True)
class MeasureAnswer:
    measure_id: str
    title: str
    summary: str
    key_figure: str | None
    document: str
    clause: str
    department: str | None
    contact: str | None
    how_to_apply: str | None
    period: str
    source_url: str
    outline_only: bool
    confidence: str
    internal_note: str | None
    internal_contact: str | None
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


@dataclass(frozen=True)
class Choice:
    measure_id: str
    title: str


def _document_title(document: Document) -> str:
    title = document.title.strip("《》")
    return f"《{title}》"


def _clause(measure: Measure) -> str:
    if measure.number:
        return f"第{measure.number}条"
    return measure.aspect or ""


def _figures(measure: Measure) -> list[str]:
    return [format_benefit(b) for b in measure.benefits or [] if b.get("amount") is not None]


def measure_answer(measure: Measure, score: float = 0.0) -> MeasureAnswer:
    return MeasureAnswer(
        measure_id=measure.id,
        title=measure.title,
        summary=measure.summary,
        key_figure="；".join(_figures(measure)[:2]) or None,
        document=_document_title(measure.document),
        clause=_clause(measure),
        department=measure.department,
        contact=measure.contact,
        how_to_apply=measure.how_to_apply,
        period=format_period(measure.valid_from, measure.valid_to),
        source_url=(measure.sources or measure.document.sources)[0].url,
        outline_only=measure.outline_only,
        confidence=measure.confidence,
        internal_note=measure.internal_note,
        internal_contact=measure.internal_contact,
        score=score,
    )


def search_measures(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None, limit: int = 5
) -> list[Hit]:
    revision = queries.latest_revision_id(session=session)
    index = index_for_revision(revision, lambda: queries.all_measures(session=session))
    return index.search(question, family=family, edition=edition, limit=limit)


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


def ranked_measures(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None,
    today: dt.date | None = None,
) -> list[tuple[float, Measure]]:
    """Measures that match the question well enough to answer, best first."""
    today = today or dt.date.today()
    question = question_in(question)
    hits = search_measures(question, session=session, family=family, edition=edition, limit=10)
    if not hits and (family or edition):
        hits = search_measures(question, session=session, limit=10)
    hits = [h for h in hits if h.score >= MIN_SCORE and h.coverage >= MIN_COVERAGE]
    asks_how = any(phrase in question for phrase in _ASKS_HOW)
    ranked = [(_rank(h, queries.get_measure(h.measure_id, session=session), asks_how=asks_how, today=today), h)
              for h in hits]
    ranked.sort(key=lambda pair: (-pair[0], -pair[1].coverage, pair[1].measure_id))
    return [(score, queries.get_measure(hit.measure_id, session=session)) for score, hit in ranked]


def answer_measure(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None,
    today: dt.date | None = None,
) -> MeasureAnswer | None:
    """The best-matching measure, or None when nothing matches well enough to answer."""
    ranked = ranked_measures(question, session=session, family=family, edition=edition, today=today)
    if not ranked:
        return None
    score, measure = ranked[0]
    return measure_answer(measure, score)


_TRAILING_REMARK = re.compile(r"[（(][^（）()]*\d[^（）()]*[）)]$")


def _alike(a: str, b: str) -> bool:
    """Titles that differ only by a dated remark ("（2023年度名单…）") name the same measure for a firm."""
    a, b = _TRAILING_REMARK.sub("", a), _TRAILING_REMARK.sub("", b)
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def choices_if_unclear(question: str, ranked: list[tuple[float, Measure]], limit: int = 3) -> list[Choice]:
    """Up to three measures to offer when a very short question fits several different ones equally."""
    informative = {t for t in tokenize(question_in(question)) if len(t) >= 2}
    if len(ranked) < 2 or len(informative) > 3:
        return []
    best = ranked[0][0]
    distinct: list[Measure] = []
    for score, measure in ranked:
        if score < 0.8 * best:
            break
        if not any(_alike(measure.title, kept.title) for kept in distinct):
            distinct.append(measure)
    if len(distinct) < 2:
        return []
    return [Choice(m.id, m.title) for m in distinct[:limit]]


@dataclass(frozen=True)
class ArticleLookup:
    """A numbered article the question names: its answer, or the document whose text lacks it."""

    answer: MeasureAnswer | None
    document: str
    number: int
    source_url: str


def article(question: str, number: int, *, session: Session, today: dt.date) -> ArticleLookup | None:
    """第N条 of the document the question names (the 32条 when it names only the family)."""
    family = detect_family(question, session=session)
    if family is None:
        return None
    document = find_document(family, session=session, today=today, question=question)
    if document is None:
        return None
    measure = next((m for m in document.measures if m.number == number), None)
    return ArticleLookup(measure_answer(measure) if measure else None, _document_title(document), number,
                         document.sources[0].url)


def measure_by_id(measure_id: str, *, session: Session) -> MeasureAnswer | None:
    measure = queries.get_measure(measure_id, session=session)
    return measure_answer(measure) if measure else None


def _names(document: Document) -> list[str]:
    return [n.lower().replace(" ", "") for n in filter(None, [document.short_name, *(document.aliases or [])])]


def detect_family(question: str, *, session: Session) -> str | None:
    """The family whose document name or alias the question contains (the longest match wins)."""
    matches = matching_documents(question, session=session)
    return matches[0].family if matches else None


def matching_documents(question: str, *, session: Session) -> list[Document]:
    """Documents named in the question, best match (longest name) first."""
    text = question_in(question).lower().replace(" ", "")
    scored = []
    for document in queries.all_documents(session=session):
        longest = max((len(name) for name in _names(document) if name in text), default=0)
        if longest:
            scored.append((longest, document))
    if not scored:
        return []
    best = max(length for length, _ in scored)
    return [document for length, document in scored if length == best]


def find_document(
    family: str, *, session: Session, today: dt.date, question: str = "", edition: str | None = None
) -> Document | None:
    """The document the question names (the edition in force among several), else the family's umbrella."""
    named = [d for d in matching_documents(question, session=session) if d.family == family]
    if edition:
        named = [d for d in named if d.edition == edition]
    if named:
        in_force = [d for d in named if d.valid_from is None or d.valid_from <= today]
        return max(in_force or named, key=lambda d: d.edition)
    return queries.document_in_force(family, session=session, today=today, edition=edition)


def describe_family(
    family: str, *, session: Session, today: dt.date, question: str = "", edition: str | None = None
) -> FamilyAnswer | None:
    document = find_document(family, session=session, today=today, question=question, edition=edition)
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


@dataclass(frozen=True)
class DocumentList:
    title: str
    items: list[str]
    source_url: str


# Which lists a document's `structure` may hold, and how to name them.
_LISTS = (("packages", "政策包"), ("packages_known", "已知政策包"), ("factor_lists", "要素保障清单"),
          ("aspects", "五个方面"), ("components", "组成计划"))


def _item_name(item) -> str:
    if isinstance(item, dict):
        return str(item.get("name") or next(iter(item.values())))
    return str(item)


def document_lists(document: Document) -> list[DocumentList]:
    """The named lists of a document (packages, factor lists, aspects, programmes) as the sources give them."""
    structure = document.structure or {}
    source = document.sources[0].url
    found = []
    for key, label in _LISTS:
        value = structure.get(key)
        if isinstance(value, dict):
            items = list(value)
        elif isinstance(value, list):
            items = [_item_name(v) for v in value]
        else:
            continue
        found.append(DocumentList(f"{_document_title(document)}的{label}", items, source))
    return found


@dataclass(frozen=True)
class EditionFigure:
    year: str
    title: str
    figure: str


def _history_containing(measure_id: str, *, session: Session) -> list[dict] | None:
    """A document's `later_history` chain (years, rule, measures) that includes the measure, if any."""
    for document in queries.all_documents(session=session):
        history = (document.structure or {}).get("later_history")
        if isinstance(history, list) and any(measure_id in (step.get("measures") or []) for step in history):
            return history
    return None


def changes_over_editions(question: str, *, session: Session, today: dt.date) -> tuple[str, list[EditionFigure]]:
    """The topic of the question and its figure in each edition that has a measure on it, oldest first.

    Where the knowledge base records the topic's history (a document's `later_history`), that chain
    is followed, so "三个70%" leads on to the 80% of later editions.
    """
    ranked = ranked_measures(question, session=session, today=today)
    if not ranked:
        return "", []
    top = ranked[0][1]
    history = _history_containing(top.id, session=session)
    if history:
        steps = []
        for step in history:
            measures = [queries.get_measure(i, session=session) for i in step.get("measures") or []]
            measures = [m for m in measures if m is not None]
            figure = "；".join(_figures(measures[-1])[:2]) if measures else ""
            title = measures[-1].title if measures else ""
            steps.append(EditionFigure(f"{step.get('years')}年", title, figure or str(step.get("rule", ""))))
        return str(history[0].get("rule") or top.title), steps
    best_score = ranked[0][0]
    by_year: dict[str, EditionFigure] = {}
    for score, measure in ranked:
        if score < 0.3 * best_score:
            continue
        figure = "；".join(_figures(measure)[:2])
        year = measure.document.edition[:4]
        if figure and year not in by_year:
            by_year[year] = EditionFigure(f"{year}年", measure.title, figure)
    return top.title, [by_year[y] for y in sorted(by_year)]


def provincial_funds(document: Document) -> str:
    funds = (document.structure or {}).get("provincial_funds")
    if isinstance(funds, dict) and funds.get("amount") is not None:
        return format_amount(funds["amount"], funds.get("unit"))
    return ""


def log_question(text: str, *, session: Session, kind: str, channel: str, sender: str | None) -> None:
    """Keep a question the assistant could not answer (or a hand-off) for the staff digest."""
    session.add(AskedQuestion(kind=kind, channel=channel or "unknown", sender=sender, text=text[:2000]))
