"""Read queries. Every function takes the caller's session and opens none itself."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.store.models import DRAFT, Document, Measure, Revision


def get_measure(measure_id: str, *, session: Session) -> Measure | None:
    """A measure by id, or None."""
    return session.get(Measure, measure_id)


def measures_by_id(measure_ids: list[str], *, session: Session) -> dict[str, Measure]:
    """Several measures in one query (retrieval ranks up to ten per question)."""
    if not measure_ids:
        return {}
    found = session.execute(select(Measure).where(Measure.id.in_(measure_ids))).scalars()
    return {measure.id: measure for measure in found}


def all_measures(*, session: Session) -> list[Measure]:
    """Every measure, by id."""
    return list(session.execute(select(Measure).order_by(Measure.id)).scalars())


def all_documents(*, session: Session) -> list[Document]:
    """Every document, by id."""
    return list(session.execute(select(Document).order_by(Document.id)).scalars())


def documents_of_family(family: str, *, session: Session, include_drafts: bool = False) -> list[Document]:
    """The family's documents, oldest edition first; consultation drafts (征求意见稿) only when asked for."""
    query = select(Document).where(Document.family == family)
    if not include_drafts:
        query = query.where((Document.status.is_(None)) | (Document.status != DRAFT))
    return list(session.execute(query.order_by(Document.edition, Document.id)).scalars())


def document_in_force(family: str, *, session: Session, today: dt.date, edition: str | None = None) -> Document | None:
    """The family's document for `edition`, else the newest one already in force on `today`."""
    return edition_in_force(documents_of_family(family, session=session), today=today, edition=edition)


def edition_in_force(documents: list, *, today: dt.date, edition: str | None = None):
    """Of a family's documents (oldest first, ORM rows or records): `edition`'s, else the newest begun by `today`."""
    if edition:
        matching = [d for d in documents if d.edition == edition]
        return matching[-1] if matching else None
    in_force = [d for d in documents if d.valid_from is None or d.valid_from <= today]
    candidates = in_force or documents
    return candidates[-1] if candidates else None


def latest_revision_id(*, session: Session) -> int:
    """0 for an empty knowledge base; grows with every change, so callers can cache by it."""
    return session.execute(select(func.max(Revision.id))).scalar() or 0


def revisions(*, session: Session, limit: int = 20) -> list[Revision]:
    """The latest revisions, newest first."""
    return list(session.execute(select(Revision).order_by(Revision.id.desc()).limit(limit)).scalars())


def counts_by_family(*, session: Session) -> dict[str, dict[str, int]]:
    """Documents and measures per family."""
    rows = session.execute(
        select(Document.family, func.count(func.distinct(Document.id)), func.count(Measure.id))
        .join(Measure, Measure.document_id == Document.id, isouter=True)
        .group_by(Document.family)
    ).all()
    return {family: {"documents": documents, "measures": measures} for family, documents, measures in rows}
