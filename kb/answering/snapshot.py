"""One read of the knowledge base per revision: documents, measures, their answer units and the index over them.

Every question at a revision reads this snapshot, never the database: the records are plain values, so
one snapshot serves all threads of a process until the next change.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from kb.answering.index import UnitIndex
from kb.answering.units import Unit, build_units
from kb.answering.vocabulary import Vocabulary, vocabulary
from kb.store import queries
from kb.store.models import DRAFT, Document, Measure

_EDITION_REMARK = re.compile(r"[（(][^（）()]*\d{4}[^（）()]*[）)]$")


@dataclass(frozen=True)
class DocumentRecord:
    """A document as a plain value: its names, edition, issuer, dates, summary, structure and sources."""

    id: str
    family: str
    edition: str
    title: str
    short_name: str | None
    aliases: tuple[str, ...]
    issuer: str | None
    doc_number: str | None
    published: dt.date | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    summary: str
    structure: dict
    confidence: str
    source_urls: tuple[str, ...]
    status: str
    press_conference: dt.date | None
    articles: int | None
    lead_departments: tuple[str, ...]
    co_issuers: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The names a question may call the document by, lower-case without spaces.

        Its short name, aliases and title; the title also without its edition remark and leading 关于.
        """
        title = self.title.strip("《》")
        stem = _EDITION_REMARK.sub("", title)
        names = [self.short_name, *self.aliases, title, stem, stem.removeprefix("关于")]
        return tuple(dict.fromkeys(n.lower().replace(" ", "") for n in names if n and len(n) >= 2))

    @property
    def citation(self) -> str:
        """The document as a source line cites it: 《title》 and, when known, its number."""
        title = f"《{self.title.strip('《》')}》"
        return f"{title}（{self.doc_number}）" if self.doc_number else title


@dataclass(frozen=True)
class MeasureRecord:
    """A measure as a plain value: its summary, benefits, department, rule, validity, channel and sources."""

    id: str
    document_id: str
    number: int | None
    aspect: str | None
    title: str
    summary: str
    outline_only: bool
    benefits: tuple[dict, ...]
    department: str | None
    contact: str | None
    how_to_apply: str | None
    keywords: tuple[str, ...]
    rule: dict | None  # the eligibility rule (kb.eligibility), when the measure has one
    valid_from: dt.date | None
    valid_to: dt.date | None
    confidence: str
    note: str | None
    internal_note: str | None
    internal_contact: str | None
    source_urls: tuple[str, ...]
    channel: dict | None
    application_window: dict | None
    applies_by: str | None
    materials: tuple[str, ...]


def _tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else ()


def document_record(document: Document) -> DocumentRecord:
    """A document row as a plain record; fields an older schema lacks take their defaults (status "final")."""
    # Fields the schema gained later are read with getattr, so a snapshot works on either version.
    return DocumentRecord(
        id=document.id, family=document.family, edition=document.edition, title=document.title,
        short_name=document.short_name, aliases=_tuple(document.aliases), issuer=document.issuer,
        doc_number=document.doc_number, published=document.published, valid_from=document.valid_from,
        valid_to=document.valid_to, summary=document.summary, structure=dict(document.structure or {}),
        confidence=document.confidence, source_urls=tuple(s.url for s in document.sources),
        status=getattr(document, "status", None) or "final",
        press_conference=getattr(document, "press_conference", None),
        articles=getattr(document, "articles", None),
        lead_departments=_tuple(getattr(document, "lead_departments", None)),
        co_issuers=_tuple(getattr(document, "co_issuers", None)),
    )


def measure_record(measure: Measure) -> MeasureRecord:
    """A measure row as a plain record; a measure citing no source of its own takes its document's."""
    return MeasureRecord(
        id=measure.id, document_id=measure.document_id, number=measure.number, aspect=measure.aspect,
        title=measure.title, summary=measure.summary, outline_only=bool(measure.outline_only),
        benefits=tuple(dict(b) for b in measure.benefits or ()), department=measure.department,
        contact=measure.contact, how_to_apply=measure.how_to_apply, keywords=_tuple(measure.keywords),
        rule=dict(measure.rule) if measure.rule else None, valid_from=measure.valid_from, valid_to=measure.valid_to,
        confidence=measure.confidence, note=measure.note, internal_note=measure.internal_note,
        internal_contact=measure.internal_contact,
        source_urls=tuple(s.url for s in measure.sources) or tuple(s.url for s in measure.document.sources),
        channel=getattr(measure, "channel", None), application_window=getattr(measure, "application_window", None),
        applies_by=getattr(measure, "applies_by", None), materials=_tuple(getattr(measure, "materials", None)),
    )


class Snapshot:
    """The knowledge base at one revision, as answering reads it."""

    def __init__(self, revision: int, documents: list[DocumentRecord], measures: list[MeasureRecord],
                 words: Vocabulary) -> None:
        """Hold the records by id, the measures of each document, their answer units and the index over them."""
        self.revision = revision
        self.vocabulary = words
        self.documents = {d.id: d for d in documents}
        self.measures = {m.id: m for m in measures}
        self.measures_of: dict[str, list[MeasureRecord]] = {}
        for measure in measures:
            self.measures_of.setdefault(measure.document_id, []).append(measure)
        self.units = build_units(self.documents, self.measures, words)
        self.units_by_id = {u.id: u for u in self.units}
        self._figures: dict[str, list[Unit]] = {}
        self._editions_of_key: dict[tuple[str, str], set[str]] = {}
        for unit in self.units:
            if unit.kind == "figure" and unit.measure_id:
                self._figures.setdefault(unit.measure_id, []).append(unit)
            if unit.key and not unit.measure_id:
                self._editions_of_key.setdefault((unit.family, unit.key), set()).add(unit.edition)
        self.index = UnitIndex(self.units, words)

    def unit(self, unit_id: str) -> Unit | None:
        """The unit with this id, or None."""
        return self.units_by_id.get(unit_id)

    def figures_of(self, measure_id: str) -> list[Unit]:
        """A measure's figure units, in the order its benefits list them."""
        return self._figures.get(measure_id, [])

    def has_newer(self, unit: Unit) -> bool:
        """Whether a newer edition of the unit's family states the same document entry (its 要素保障清单, its 文号)."""
        if not unit.key or unit.measure_id:
            return True  # a measure is replaced by its family's newer edition as a whole
        return any(edition > unit.edition for edition in self._editions_of_key.get((unit.family, unit.key), ()))

    def draft_replaced(self, document_id: str) -> bool:
        """Whether the document is a consultation draft the family's final text issued after it replaces."""
        draft = self.documents.get(document_id)
        return draft is not None and draft.status == DRAFT and any(
            d.family == draft.family and d.status != DRAFT and d.edition > draft.edition
            and (d.published is None or draft.published is None or d.published > draft.published)
            for d in self.documents.values())

    def documents_of_family(self, family: str) -> list[DocumentRecord]:
        """The family's documents in force or once in force (consultation drafts left out), oldest edition first."""
        return sorted((d for d in self.documents.values() if d.family == family and d.status != DRAFT),
                      key=lambda d: (d.edition, d.id))

    def document_in_force(self, family: str, today: dt.date, edition: str | None = None) -> DocumentRecord | None:
        """The family's document for `edition`, else the newest one already in force today."""
        return queries.edition_in_force(self.documents_of_family(family), today=today, edition=edition)

    def named_documents(self, text: str) -> list[DocumentRecord]:
        """Documents the text names: the longest name wins, then the one named first ("5+4跟8+4什么关系")."""
        text = text.lower().replace(" ", "")
        scored = []
        for document in self.documents.values():
            found = [(len(name), -text.find(name)) for name in document.names if name and name in text]
            if found:
                scored.append((max(found), document))
        if not scored:
            return []
        best = max(key for key, _ in scored)
        return [document for key, document in scored if key == best]

    def all_named_documents(self, text: str) -> list[DocumentRecord]:
        """Every document some name of which the text contains, in the order the text names them."""
        text = text.lower().replace(" ", "")
        found = []
        for document in self.documents.values():
            positions = [text.find(name) for name in document.names if name and name in text]
            if positions:
                found.append((min(positions), document.id, document))
        return [document for _, _, document in sorted(found)]


_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def snapshot(*, session: Session) -> Snapshot:
    """The snapshot of this database at its latest revision, read once per process and revision."""
    owner = session.get_bind()
    revision = queries.latest_revision_id(session=session)
    with _lock:
        cached = _cache.get(owner)
        if cached is not None and cached.revision == revision:
            return cached
    documents = [document_record(d) for d in queries.all_documents(session=session)]
    measures = [measure_record(m) for m in queries.all_measures(session=session)]
    built = Snapshot(revision, documents, measures, vocabulary())
    with _lock:
        _cache[owner] = built
    return built
