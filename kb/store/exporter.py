"""Export of the whole knowledge base as plain data (the JSON layout is documented in README)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.store.models import Document, Firm, Measure, Source, document_sources, measure_sources


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def document_record(document: Document) -> dict[str, Any]:
    """A document as plain data, in the export layout."""
    return {
        "id": document.id,
        "family": document.family,
        "edition": document.edition,
        "title": document.title,
        "short_name": document.short_name,
        "aliases": list(document.aliases or []),
        "issuer": document.issuer,
        "doc_number": document.doc_number,
        "published": _iso(document.published),
        "valid_from": _iso(document.valid_from),
        "valid_to": _iso(document.valid_to),
        "summary": document.summary,
        "structure": document.structure or {},
        "confidence": document.confidence,
        "status": document.status or "正式",
        "press_conference": _iso(document.press_conference),
        "articles": document.articles,
        "lead_departments": list(document.lead_departments or []),
        "co_issuers": list(document.co_issuers or []),
        "origin": document.origin,
        "sources": [s.url for s in document.sources],
    }


def measure_record(measure: Measure) -> dict[str, Any]:
    """A measure as plain data, in the export layout."""
    return {
        "id": measure.id,
        "document_id": measure.document_id,
        "family": measure.document.family,
        "edition": measure.document.edition,
        "number": measure.number,
        "aspect_or_package": measure.aspect,
        "title": measure.title,
        "summary": measure.summary,
        "outline_only": measure.outline_only,
        "benefits": list(measure.benefits or []),
        "department": measure.department,
        "contact": measure.contact,
        "how_to_apply": measure.how_to_apply,
        "keywords": list(measure.keywords or []),
        "rule": measure.rule,
        "valid_from": _iso(measure.valid_from),
        "valid_to": _iso(measure.valid_to),
        "confidence": measure.confidence,
        "note": measure.note,
        "internal_note": measure.internal_note,
        "internal_contact": measure.internal_contact,
        "applies_by": measure.applies_by,
        "channel": dict(measure.channel) if measure.channel else None,
        "application_window": dict(measure.application_window) if measure.application_window else None,
        "materials": list(measure.materials or []),
        "origin": measure.origin,
        "sources": [s.url for s in measure.sources],
    }


def source_record(source: Source) -> dict[str, Any]:
    """A source as plain data, in the export layout."""
    return {"url": source.url, "title": source.title, "publisher": source.publisher, "kind": source.kind}


def firm_record(firm: Firm) -> dict[str, Any]:
    """A registered firm as plain data, in the export layout."""
    return {"credit_code": firm.credit_code, "name": firm.name, "facts": dict(firm.facts or {}), "origin": firm.origin}


def export_data(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every document, measure and firm, ordered by id so two exports of one state are byte-identical."""
    documents = session.execute(select(Document).order_by(Document.id)).scalars().all()
    measures = session.execute(select(Measure).order_by(Measure.id)).scalars().all()
    firms = session.execute(select(Firm).order_by(Firm.credit_code)).scalars().all()
    return {
        "documents": [document_record(d) for d in documents],
        "measures": [measure_record(m) for m in measures],
        "firms": [firm_record(f) for f in firms],
    }


def export_sources(session: Session) -> list[dict[str, Any]]:
    """Every source some document or measure cites, with its title, publisher and kind, by URL."""
    cited = select(document_sources.c.source_id).union(select(measure_sources.c.source_id))
    found = session.execute(select(Source).where(Source.id.in_(cited)).order_by(Source.url)).scalars()
    return [source_record(s) for s in found]


def export_text(data: dict[str, Any], fmt: str) -> str:
    """Render the export as JSON or YAML, sorted, so two exports of one state are byte-identical."""
    if fmt == "yaml":
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=True, width=1000)
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
