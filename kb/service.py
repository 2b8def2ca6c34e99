"""What the assistant asks of the knowledge base, as plain values ready for a response template.

Wording lives in the Rasa domain; this module only picks and formats the facts.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jieba
from sqlalchemy.orm import Session

from kb import queries
from kb.format import format_amount, format_benefit, format_date, format_number, format_period
from kb.models import AskedQuestion, Document, Measure
from kb.search import Hit, MeasureIndex, english, index_for_revision, public_note_sentences, tokenize
from kb.text import edition_year, normalize, question_in

FAMILY_NAMES = {
    "private_economy_32": "民营经济32条",
    "eight_plus_four": "“8+4”经济政策体系",
    "shuangjian_shuangling": "“双尖双领”研发攻关计划",
    "firm_category": "企业类别认定",
}
# A hit must share this much evidence with the question to count as an answer rather than a guess.
MIN_SCORE = 2.0
MIN_COVERAGE = 0.35
LONG_QUESTION_WORDS = 25
MIN_COVERAGE_LONG = 0.2
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


def _document_citation(document: Document) -> str:
    """The document as a source line cites it: title and, when known, its number (浙政发〔2025〕4号)."""
    title = _document_title(document)
    return f"{title}（{document.doc_number}）" if document.doc_number else title


def _clause(measure: Measure) -> str:
    if measure.number:
        return f"第{measure.number}条"
    return measure.aspect or ""


# The unit a question asks for: 多少家 → 家, 几年 → 年, 多少钱 → 元, 比例 → %, 多久 → any span of time.
_ASKED_UNIT = re.compile(r"(?:多少|几)(万元|亿元|元|钱|块|家|项|条|场|个|亩|人|年|天|类|倍)")
_UNIT_WORDS = {"钱": ("元",), "块": ("元",), "天": ("天", "日")}
_RATIO_WORDS = ("比例", "比重", "占比", "百分之", "税率", "费率")
_DURATION = ("年", "月", "日", "天")


def asked_units(question: str) -> tuple[str, ...]:
    """The units a figure answering the question may have; empty when the question names none."""
    match = _ASKED_UNIT.search(question)
    if match:
        return _UNIT_WORDS.get(match.group(1), (match.group(1),))
    if any(word in question for word in _RATIO_WORDS):
        return ("%",)
    if "多久" in question or "期限" in question or "多长时间" in question:
        return _DURATION
    return ()


def _unit_fits(benefit: dict, units: tuple[str, ...]) -> bool:
    return any(unit in str(benefit.get("unit") or "") for unit in units)


def _figures(measure: Measure, question: str | None = None) -> list[str]:
    """The measure's figures; those the question asks about first (its words, then the unit it asks for)."""
    benefits = [b for b in measure.benefits or [] if b.get("amount") is not None]
    if question:
        asked = set(tokenize(question))
        units = asked_units(question)

        def relevance(benefit: dict) -> tuple[int, int]:
            words = sum(1 for t in set(tokenize(benefit["what"])) if t in asked)
            return words, int(_unit_fits(benefit, units))

        benefits = sorted(benefits, key=lambda b: tuple(-x for x in relevance(b)))  # stable: ties keep seed order
    return [format_benefit(b) for b in benefits]


def measure_answer(measure: Measure, score: float = 0.0, question: str | None = None) -> MeasureAnswer:
    """The measure as a reply; with the question, the figures it asks about come first."""
    return MeasureAnswer(
        measure_id=measure.id,
        title=measure.title,
        summary=measure.summary,
        key_figure="；".join(_figures(measure, question)[:2]) or None,
        document=_document_citation(measure.document),
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


def measure_index(*, session: Session) -> MeasureIndex:
    revision = queries.latest_revision_id(session=session)
    return index_for_revision(session.get_bind(), revision, lambda: queries.all_measures(session=session))


def search_measures(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None, limit: int = 5
) -> list[Hit]:
    return measure_index(session=session).search(question, family=family, edition=edition, limit=limit)


def clean_question(question: str, *, session: Session) -> str:
    """The question retrieval reads: the asking part of a paste, with typed homophones put right."""
    return measure_index(session=session).correct(question_in(question))


# Words asking for a figure; only then does a measure with a figure on the asked topic come first.
_ASKS_FIGURE = ("多少", "几", "多久", "多大", "比例", "标准", "上限", "下限", "门槛", "多高")


def _figure_match(measure: Measure, asked: set[str], weight, units: tuple[str, ...]) -> float:
    """How well one of the measure's figures is what the question asks for, 0 to 1.5.

    "科创母基金扩到多少了" is answered by the measure with a 科创母基金 figure, not one naming the fund in
    passing. The words of the measure's document names and years do not count: its siblings share them.
    """
    names = set(tokenize(" ".join(_names(measure.document))))
    topic = {t for t in asked if t not in names and not _YEARISH.fullmatch(t)}
    total = sum(weight(t) for t in topic)
    best = 0.0
    for benefit in measure.benefits or []:
        if benefit.get("amount") is None:
            continue
        words = sum(weight(t) for t in topic & set(tokenize(benefit["what"]))) / total if total else 0.0
        best = max(best, words + (0.5 if _unit_fits(benefit, units) else 0.0))
    return best


_YEARISH = re.compile(r"20\d\d.*")


def _rank(hit: Hit, measure: Measure, *, asks_how: bool, today: dt.date, dated: bool, figure: float) -> float:
    """Retrieval score adjusted for what makes an answer useful now."""
    score = hit.score
    if measure.outline_only:
        score *= 0.5  # a full measure on the same topic says more than an outline
    if asks_how and measure.how_to_apply:
        score *= 1.3
    if measure.valid_to and measure.valid_to < today:
        score *= 0.85  # superseded figures stay answerable, but today's edition comes first
    if dated:
        score *= 1.25  # the edition (or the yearly list) the question names beats one that only mentions the year
    return score * (1 + 0.3 * figure)


def _accepted(hits: list[Hit], words: int = 0) -> list[Hit]:
    """Hits with enough evidence to answer; a lone clear winner counts even in a wordy question.

    A long message (`words` distinct tokens) is mostly the firm's story, so it needs less of it matched.
    """
    least = MIN_COVERAGE if words < LONG_QUESTION_WORDS else MIN_COVERAGE_LONG
    good = [h for h in hits if h.score >= MIN_SCORE and h.coverage >= least]
    if good or not hits:
        return good
    best, runner_up = hits[0], (hits[1].score if len(hits) > 1 else 0.0)
    # "被事业单位拖欠货款一年多了，去哪投诉": most words are the firm's story; two of the topic's own words decide.
    if best.score >= 4 * MIN_SCORE and best.score >= 1.5 * runner_up and len(best.matched) >= 2 \
            and best.coverage >= MIN_COVERAGE / 2:
        return [best]
    return []


def ranked_measures(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None,
    today: dt.date | None = None,
) -> list[tuple[float, Measure]]:
    """Measures that match the question well enough to answer, best first.

    The family narrows the search only while something inside it answers. A year narrows it to the
    measures of that edition or that mention the year themselves: "2024年度首台套名单" is the list for
    2024, published with the 2025 edition.
    """
    today = today or dt.date.today()
    index = measure_index(session=session)
    whole = index.correct(normalize(question))
    question = index.correct(question_in(question))

    def candidates(text: str, within: str | None) -> list[Hit]:
        words = len(set(tokenize(text)))
        anywhere = _accepted(index.search(text, family=within, limit=30), words)
        if not edition:
            return anywhere
        dated = _accepted(index.search(text, family=within, edition=edition, limit=10), words)
        seen = {h.measure_id for h in dated}
        dated += [h for h in anywhere if h.measure_id not in seen and index.mentions_year(h.measure_id, edition)]
        return sorted(dated, key=lambda h: (-h.score, h.measure_id)) or anywhere

    def best_coverage(hits: list[Hit]) -> float:
        return max((h.coverage for h in hits), default=0.0)

    hits: list[Hit] = []
    # The asking part of a paste first; the whole paste when that part alone names nothing the KB knows.
    for text in dict.fromkeys([question, whole]):
        hits = candidates(text, None)
        if family:
            inside = candidates(text, family)
            # The family narrows only while its measures cover the question as well as any ("2027年高新技术企业
            # 要达到多少家" asked as a definition is answered by the 2027 targets, not the 高企 category).
            if inside and best_coverage(inside) >= best_coverage(hits):
                hits = inside
        if hits:
            question = text
            break
    hits = hits[:10]
    asks_how = any(phrase in question for phrase in _ASKS_HOW)
    # "2024年度首台套名单": a yearly list is named by the year it covers; the measure saying "2024年度" is meant,
    # whatever edition published it. Otherwise the edition named is.
    listed_year = f"{edition}年度" if edition and f"{edition}年度" in whole else None

    def dated(hit: Hit, measure: Measure) -> bool:
        if listed_year:
            return index.has_token(hit.measure_id, listed_year)
        return bool(edition) and measure.document.edition == edition

    asked = set(tokenize(question))
    asks_figure = any(word in question for word in _ASKS_FIGURE)
    units = asked_units(question)

    def weight(token: str) -> float:
        return index.idf.get(token, 0.0 if english(token) else index.rarest)

    ranked = []
    measures = queries.measures_by_id([h.measure_id for h in hits], session=session)
    for h in hits:
        measure = measures.get(h.measure_id)
        if measure is None:
            continue  # deleted since the index's revision was read
        figure = _figure_match(measure, asked, weight, units) if asks_figure else 0.0
        score = _rank(h, measure, asks_how=asks_how, today=today, dated=dated(h, measure), figure=figure)
        ranked.append((score, h, measure))
    ranked.sort(key=lambda entry: (-entry[0], -entry[1].coverage, entry[1].measure_id))
    return [(score, measure) for score, _, measure in ranked]


def answer_measure(
    question: str, *, session: Session, family: str | None = None, edition: str | None = None,
    today: dt.date | None = None,
) -> MeasureAnswer | None:
    """The best-matching measure, or None when nothing matches well enough to answer."""
    ranked = ranked_measures(question, session=session, family=family, edition=edition, today=today)
    if not ranked:
        return None
    score, measure = ranked[0]
    return measure_answer(measure, score, question_in(question))


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
    """Documents named in the question: the longest name wins, then the one named first ("5+4跟8+4什么关系")."""
    text = clean_question(question, session=session).lower().replace(" ", "")
    scored = []
    for entry in _catalogue(session=session):
        found = [(len(name), -text.find(name)) for name in entry.names if name in text]
        if found:
            scored.append((max(found), entry.id))
    if not scored:
        return []
    best = max(key for key, _ in scored)
    named = (session.get(Document, document_id) for key, document_id in scored if key == best)
    return [document for document in named if document is not None]  # None: deleted since the revision was read


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


# ---------------------------------------------------------------- facts kept outside a measure's summary

# A document's `structure` keys that hold facts firms ask about, with the words a reply names them by.
# Keys not listed here (bookkeeping such as `later_history` or encoding notes) are never shown.
_STRUCTURE_LABELS = {
    "framework": "框架", "implementation": "实施机制（1+N）", "three_in_place": "三个到位", "press_conference": "发布会",
    "provincial_funds": "省级财政资金", "burden_reduction": "减负", "articles": "条款数",
    "packages": "政策包", "packages_known": "已知政策包", "factor_lists": "要素保障清单", "aspects": "五个方面",
    "components": "组成计划", "platform": "申报平台", "application_window": "申报时间", "deadline": "申报截止时间",
    "second_batch_deadline": "第二批申报截止时间", "first_batch": "第一批申报通知",
    "first_batch_notice": "第一批申报通知日期", "second_batch_notice": "第二批申报通知日期",
    "announced": "申报通知发布时间", "calls": "历年申报通知", "scale_targets": "规模目标", "legal_basis": "法律依据",
    "relation_to_32": "与民营经济32条的关系", "draft_title": "征求意见稿名称", "draft_consultation": "征求意见",
    "issued": "印发时间", "issued_date_note": "印发日期", "departmental_documents": "部门配套文件",
    "basis": "依据文件", "articles_with_text": "有原文的条款",
    "articles_missing": "原文未找到的条款", "articles_content_only": "只知内容的条款", "implements_article": "落实条款",
    "parts_seen": "已读到的部分", "project_approval": "立项日期", "contract_deadline": "合同书提交截止",
    "project_start": "项目实施起始", "first_batch_lists": "第一批榜单（指南）数",
    "first_batch_jianbing_lists": "首批尖兵榜单数", "strategic_fields": "战略领域数", "areas": "领域数",
    "packages_missing": "名称未找到的政策包数", "published_online": "网上公布日期",
    "unknown": "尚未找到的内容",
}
# Keys inside list items that point at other records rather than say something.
_REFERENCE_KEYS = {"measure", "measures", "document", "documents"}
_ISO_DATE = re.compile(r"(20\d\d)-(\d\d)-(\d\d)")
_ID_LIKE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
# Phrases asking for the items of something: the list that names them beats a measure that only mentions it.
_ASKS_ITEMS = ("哪些", "哪几", "有哪", "是哪", "指哪", "哪两", "哪三", "哪四", "哪五", "哪八", "哪2", "哪3", "哪4",
               "哪5", "哪8", "分别", "包括", "包含")


@dataclass(frozen=True)
class Fact:
    """One fact kept outside a measure's summary: a document's structure entry or a sentence of a measure's note."""

    title: str  # where it comes from and what it is: 《…（2026年版）》发布会, 【小型微利企业…】说明
    text: str
    source_url: str
    kind: str  # "value", "list", "unknown" (a gap the sources leave) or "note"
    document_id: str
    words: str  # what a question is matched against: the label and the text, lower-case


def asks_items(question: str) -> bool:
    """The question asks which items something has ("有哪些", "哪三个")."""
    return any(cue in question for cue in _ASKS_ITEMS)


def _titles(*, session: Session) -> dict[str, str]:
    """Record ids → titles, so a fact never shows an internal id ("见fc-41fund")."""
    titles = {d.id: d.short_name or d.title for d in queries.all_documents(session=session)}
    titles.update({m.id: m.title for m in queries.all_measures(session=session)})
    return titles


def _readable(text: str, titles: dict[str, str]) -> str:
    text = _ISO_DATE.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)
    return _ID_LIKE.sub(lambda m: f"“{titles[m[0]]}”" if m[0] in titles else m[0], text)


def _value_text(value, titles: dict[str, str]) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, str):
        return _readable(titles.get(value, value), titles)
    if isinstance(value, list):
        return "；".join(filter(None, (_value_text(item, titles) for item in value)))
    if isinstance(value, dict):
        if value.get("amount") is not None:
            figure = format_amount(value["amount"], value.get("unit"))
            return f"{figure}（{value['note']}）" if value.get("note") else figure
        if "name" in value:
            return _value_text(value["name"], titles)
        if "target" in value:
            when = value.get("year") or value.get("from")
            return f"{_value_text(when, titles)}起：{_value_text(value['target'], titles)}" if when else \
                _value_text(value["target"], titles)
        parts = []
        for key, item in value.items():
            if key in _REFERENCE_KEYS:
                continue
            text = _value_text(item, titles)
            parts.append(f"{key}：{text}" if isinstance(item, (str, dict, list)) and not key.isascii() else text)
        return "，".join(filter(None, parts))
    return str(value)


def _document_facts(document: Document, titles: dict[str, str]) -> list[Fact]:
    structure = document.structure or {}
    source = document.sources[0].url if document.sources else ""
    facts = []
    for key, value in structure.items():
        label = _STRUCTURE_LABELS.get(key)
        if label is None:
            continue
        title = f"{_document_title(document)}{label}"
        items = value if key == "unknown" and isinstance(value, list) else [value]
        for item in items:
            text = _value_text(item, titles)
            if not text:
                continue
            kind = "unknown" if key == "unknown" else "list" if isinstance(item, (list, dict)) else "value"
            facts.append(Fact(title, text, source, kind, document.id, f"{label} {text}".lower()))
    return facts


def _note_facts(measure: Measure, titles: dict[str, str]) -> list[Fact]:
    source = (measure.sources or measure.document.sources)[0].url
    facts = []
    for sentence in public_note_sentences(measure.note):
        text = _readable(sentence, titles)
        if text:
            facts.append(Fact(f"【{measure.title}】说明", text, source, "note", measure.document_id, text.lower()))
    return facts


@dataclass(frozen=True)
class _CatalogueEntry:
    """What matching a question to documents needs of one document, without holding the ORM object."""

    id: str
    names: tuple[str, ...]
    family: str
    edition: str


@dataclass(frozen=True)
class _Knowledge:
    revision: int | None
    facts: list[Fact]
    titles: dict[str, str]
    catalogue: list[_CatalogueEntry]


_facts_lock = threading.Lock()
_facts_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per database engine


def _knowledge_of_revision(*, session: Session) -> _Knowledge:
    """Every document's structure facts, names and titles, read once per database and revision.

    Most messages ask which documents a question names; reading every document from the database for
    that took about a third of the action server's time per message.
    """
    revision = queries.latest_revision_id(session=session)
    engine = session.get_bind()
    with _facts_lock:
        cached = _facts_cache.get(engine)
        if cached is not None and cached.revision == revision:
            return cached
        titles = _titles(session=session)
        documents = queries.all_documents(session=session)
        knowledge = _Knowledge(
            revision=revision,
            facts=[f for d in documents for f in _document_facts(d, titles)],
            titles=titles,
            catalogue=[_CatalogueEntry(d.id, tuple(_names(d)), d.family, d.edition) for d in documents],
        )
        _facts_cache[engine] = knowledge
        return knowledge


def _knowledge(*, session: Session) -> tuple[list[Fact], dict[str, str]]:
    """Every document's structure facts and the id → title map."""
    knowledge = _knowledge_of_revision(session=session)
    return knowledge.facts, knowledge.titles


def _catalogue(*, session: Session) -> list[_CatalogueEntry]:
    return _knowledge_of_revision(session=session).catalogue


def readable(text: str, *, session: Session) -> str:
    """Text for a reply: ISO dates as Chinese dates, internal ids as the titles they stand for."""
    return _readable(text, _knowledge(session=session)[1])


def _says(text: str, token: str) -> bool:
    """The text says the token: as written, or each of jieba's words of it ("认定条件" in "…认定…条件")."""
    if token in text:
        return True
    parts = jieba.lcut(token)
    if len(parts) == 1:
        parts = [part for part in jieba.lcut_for_search(token) if part != token]
    said = [False] * len(token)
    for part in parts:
        if len(part) >= 2 and part in text:
            start = token.find(part)
            said[start:start + len(part)] = [True] * len(part)
    return all(said)


def _topic(question: str, *, session: Session, also_known: Iterable[str] = ()) -> tuple[set[str], float, Callable]:
    """The question's own words, their total weight and a function telling how much of them texts cover.

    Own words leave out the document names the question uses and the `also_known` scaffolding.
    """
    index = measure_index(session=session)
    asked = set(tokenize(clean_question(question, session=session)))
    known = [n for d in matching_documents(question, session=session) for n in _names(d)] + list(also_known)
    topic = asked - set(known) - {t for word in known for t in tokenize(word)}
    # A word's pieces (the bigrams retrieval adds) are said when the word is: count the word once. Years are
    # the edition asked for, which callers handle apart, not what is asked about.
    topic = {t for t in topic if not any(t != longer and t in longer for longer in topic) and not _YEARISH.match(t)}

    def weight(token: str) -> float:
        return index.idf.get(token, 0.0 if english(token) else index.rarest)

    total = sum(weight(t) for t in topic)

    def cover(*texts: str) -> float:
        """The share of the question's own words that the texts say (a compound counts when its parts do)."""
        said = " ".join(texts).lower()
        return sum(weight(t) for t in topic if _says(said, t)) / total if total else 0.0

    return topic, total, cover


def relevant_fact(
    question: str, *, session: Session, shown: str = "", measure: Measure | None = None, today: dt.date | None = None,
) -> Fact | None:
    """A fact that answers what the reply (`shown`) leaves out, or None.

    The fact is a structure entry of a document near the question, or a sentence of the answered
    measure's note; None when the reply already covers the question as well.
    """
    facts, titles = _knowledge(session=session)
    named = matching_documents(question, session=session)
    _, total, cover = _topic(question, session=session)
    if not total:
        # "三个到位是指哪三个到位": nothing but a document's name and a request for its items.
        asked = set(tokenize(clean_question(question, session=session)))
        lists = [f for f in facts if f.kind == "list" and f.document_id in {d.id for d in named}]
        return max(lists, key=lambda f: sum(t in f.words for t in asked), default=None) \
            if asks_items(question) else None
    year = edition_year(question, today=today or dt.date.today())
    # Facts of the documents the question names and of the answered measure's document; of every document
    # when neither narrows it. A year named keeps the facts of that edition where there is one.
    nearby = {d.id for d in named} | ({measure.document_id} if measure is not None else set())
    if year:  # "2022年度首批尖兵榜单": the 2022 call of the family the question names
        documents = {entry.id: entry for entry in _catalogue(session=session)}
        families = {documents[i].family for i in nearby}
        same_year = {d.id for d in documents.values() if d.family in families and d.edition == str(year)}
        nearby = same_year or nearby
    # Elsewhere, only a fact that says every word the question asks ("四题一评是啥").
    candidates = [f for f in facts if not nearby or f.document_id in nearby or cover(f.words) >= 1.0 - 1e-6]
    candidates += _note_facts(measure, titles) if measure is not None else []
    already = cover(shown)

    def preference(fact: Fact) -> tuple:
        return (round(cover(fact.words, shown) - already, 6), round(cover(fact.words), 6), fact.document_id in nearby,
                fact.kind == "note", measure is not None and fact.document_id == measure.document_id)

    best = max(candidates, key=preference, default=None)
    if best is None:
        return None
    gain, found = cover(best.words, shown) - already, cover(best.words)
    # It must be about the question and say a good part of what the reply does not; a line of the answered
    # measure's own note is on its topic already and needs less.
    if (found >= 0.5 and gain >= 0.15) or (found >= 0.3 and gain >= 0.25) or \
            (best.kind == "note" and gain >= 0.1):
        return best
    # As good as the reply: still worth a line when it says what is missing, or lists the items asked for.
    if found >= max(already, 0.5) and (best.kind == "unknown" or (best.kind == "list" and asks_items(question))):
        return best
    return None


def uncovered(question: str, shown: str, *, session: Session) -> float:
    """How much of the question's own words (document names aside) the shown text leaves out, 0 to 1."""
    _, total, cover = _topic(question, session=session)
    return 1.0 - cover(shown) if total else 0.0


# ---------------------------------------------------------------- how a figure changed over the years

@dataclass(frozen=True)
class EditionFigure:
    year: str
    title: str
    figure: str


# Words that ask how something changed over the years, and words that compare; both are scaffolding, not the topic.
OVER_TIME_WORDS = ("变化", "变成", "变了", "改成", "改为", "调整", "后来", "以前", "之前", "往年", "历年", "这几年",
                   "换过", "演变")
CHANGE_WORDS = (*OVER_TIME_WORDS, "升级", "相比", "对比", "比较", "区别", "不同", "不一样", "多了", "少了", "现在")


def asks_over_time(question: str) -> bool:
    """A question about how something changed over the years (not merely how two things differ)."""
    return any(word in question for word in OVER_TIME_WORDS)


def _chains(document: Document) -> list[tuple[str, list[dict]]]:
    """A document's recorded histories: `later_history` (one chain) and `histories` (named chains)."""
    structure = document.structure or {}
    chains = []
    history = structure.get("later_history")
    if isinstance(history, list) and history:
        chains.append((str(history[0].get("rule") or document.short_name or document.title), history))
    for chain in structure.get("histories") or []:
        if isinstance(chain, dict) and isinstance(chain.get("steps"), list) and chain["steps"]:
            chains.append((str(chain.get("topic") or chain["steps"][0].get("rule") or ""), chain["steps"]))
    return chains


def _chain_containing(measure_id: str, question: str, *, session: Session) -> tuple[str, list[dict]] | None:
    """The recorded chain that holds the measure; with several, the one whose words the question uses most."""
    holding = [(topic, steps) for d in queries.all_documents(session=session) for topic, steps in _chains(d)
               if any(measure_id in (step.get("measures") or []) for step in steps)]
    if not holding:
        return None
    asked = set(tokenize(question))
    return max(holding, key=lambda chain: len(asked & set(tokenize(_chain_words(*chain)))))


def _chain_words(topic: str, steps: list[dict]) -> str:
    return " ".join([topic, *(str(step.get("rule") or "") for step in steps)])


def _step_year(step: dict) -> str:
    years = str(step.get("years") or "")
    return f"{years}年" if years[-1:].isdigit() else years


def _chain_lines(steps: list[dict], question: str, *, session: Session) -> list[EditionFigure]:
    lines = []
    for step in steps:
        measures = [m for m in (queries.get_measure(i, session=session) for i in step.get("measures") or []) if m]
        documents = [d for d in (session.get(Document, i) for i in step.get("documents") or []) if d]
        rule = str(step.get("rule") or "")
        # A rule with its own figures says the step; a bare name ("三个到位行动计划") gets the measure's figures.
        figures = "；".join(_figures(measures[-1], question)[:2]) if measures and not re.search(r"\d", rule) else ""
        figure = "；".join(filter(None, [rule, figures]))
        title = measures[-1].title if measures else (_document_title(documents[-1]) if documents else "")
        lines.append(EditionFigure(_step_year(step), title, readable(figure, session=session)))
    return lines


def structure_over_editions(family: str, key: str, *, session: Session) -> list[EditionFigure]:
    """One structure entry (申报平台, 省级财政资金, 发布会) in each of the family's documents that records it."""
    _, titles = _knowledge(session=session)
    lines = []
    for document in queries.documents_of_family(family, session=session):
        value = (document.structure or {}).get(key)
        text = _value_text(value, titles) if value is not None else ""
        if text:
            lines.append(EditionFigure(f"{document.edition}年", _document_title(document),
                                       f"{_STRUCTURE_LABELS.get(key, key)}：{text}"))
    return lines if len(lines) >= 2 else []


def _structure_key_asked(question: str, family: str, *, session: Session) -> str | None:
    """The structure entry the question names by its label, among those the family records in two editions."""
    _, total, cover = _topic(question, session=session, also_known=CHANGE_WORDS)
    if not total:
        return None
    documents = queries.documents_of_family(family, session=session)
    scored = []
    for key, label in _STRUCTURE_LABELS.items():
        if key == "unknown" or sum(1 for d in documents if key in (d.structure or {})) < 2:
            continue
        scored.append((cover(label), key))
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= 0.5 else None


def changes_over_editions(
    question: str, *, session: Session, today: dt.date, recorded_only: bool = False
) -> tuple[str, list[EditionFigure]]:
    """The topic of the question and its figure in each edition that has a measure on it, oldest first.

    Where the knowledge base records the topic's history (a document's `later_history` or `histories`),
    that chain is followed, so "三个70%" leads on to the 80% of later editions. A question naming a
    structure entry ("申报平台这几年换过吗") gets that entry edition by edition. With `recorded_only`,
    only those two kinds of answer count, not figures gathered from measures that merely match.
    """
    question = clean_question(question, session=session)
    ranked = ranked_measures(question, session=session, today=today)
    named = matching_documents(question, session=session)
    family = named[0].family if named else (ranked[0][1].document.family if ranked else None)
    if ranked:
        # The chain holding one of the likeliest measures that says most of what is asked.
        chains = [c for _, m in ranked[:3] if (c := _chain_containing(m.id, question, session=session))]
        if chains:
            _, total, cover = _topic(question, session=session, also_known=CHANGE_WORDS)
            topic, steps = max(chains, key=lambda c: cover(_chain_words(*c)) if total else 0.0)
            return topic, _chain_lines(steps, question, session=session)
    if family:
        key = _structure_key_asked(question, family, session=session)
        if key:
            return f"{FAMILY_NAMES.get(family, family)}{_STRUCTURE_LABELS[key]}", \
                structure_over_editions(family, key, session=session)
    chain = _chain_asked(question, session=session)
    if chain:
        topic, steps = chain
        return topic, _chain_lines(steps, question, session=session)
    if recorded_only or not ranked:
        return "", []
    top = ranked[0][1]
    best_score = ranked[0][0]
    by_year: dict[str, EditionFigure] = {}
    for score, measure in ranked:
        if score < 0.3 * best_score:
            continue
        figure = "；".join(_figures(measure, question)[:2])
        year = measure.document.edition[:4]
        if figure and year not in by_year:
            by_year[year] = EditionFigure(f"{year}年", measure.title, figure)
    return top.title, [by_year[y] for y in sorted(by_year)]


def _chain_asked(question: str, *, session: Session) -> tuple[str, list[dict]] | None:
    """A recorded chain whose topic and rules say most of what the question asks about."""
    _, total, cover = _topic(question, session=session, also_known=CHANGE_WORDS)
    if not total:
        return None
    chains = [chain for d in queries.all_documents(session=session) for chain in _chains(d)]
    scored = [(cover(_chain_words(*chain)), i) for i, chain in enumerate(chains)]
    best = max(scored, default=(0.0, -1))
    return chains[best[1]] if best[0] >= 0.5 else None


def editions_compared(question: str, family: str, *, session: Session, today: dt.date) -> list[EditionFigure]:
    """What changed between the editions a question names ("2026版8+4和2025版比").

    Every recorded chain's steps in those years for the family's measures, then the structure entries
    (funds, packages) whose value differs.
    """
    years = sorted(set(re.findall(r"20\d\d", question)))
    # Without the years, "版", "比" and the words of comparison, nothing may be left: no topic of its own.
    bare = re.sub(r"20\d\d\s*(?:年版|年度|年|版)?|[版比跟和与]", " ", question)
    _, total, _ = _topic(bare, session=session, also_known=CHANGE_WORDS)
    if len(years) < 2 or total:
        return []
    lines = []
    for document in queries.all_documents(session=session):
        for _, steps in _chains(document):
            chosen = []
            for step in steps:
                measures = [m for m in (queries.get_measure(i, session=session) for i in step.get("measures") or [])
                            if m and m.document.family == family and m.document.edition in years]
                if measures:
                    chosen.append({**step, "measures": [m.id for m in measures], "years": measures[-1].document.edition})
            lines += _chain_lines(chosen, question, session=session)
    documents = {d.edition: d for d in queries.documents_of_family(family, session=session) if d.edition in years}
    _, titles = _knowledge(session=session)
    for key in ("provincial_funds", "packages", "packages_known"):
        values = {y: _value_text((documents[y].structure or {}).get(key), titles) for y in years if y in documents}
        if len(set(values.values())) > 1:
            lines += [EditionFigure(f"{y}年", _document_title(documents[y]), f"{_STRUCTURE_LABELS[key]}：{v}")
                      for y, v in values.items() if v]
    return lines


def log_question(text: str, *, session: Session, kind: str, channel: str, sender: str | None) -> None:
    """Keep a question the assistant could not answer (or a hand-off) for the staff digest."""
    session.add(AskedQuestion(kind=kind, channel=channel or "unknown", sender=sender, text=text[:2000]))
