"""Loading curated YAML into the knowledge base: validate everything, then write once.

A load either applies every file or nothing: problems are collected across all
files first (each names its file and key), and only a clean input is written,
in one transaction that also records a revision.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.paths import SEED_DIR
from kb.store.exporter import export_data
from kb.store.locking import lock_for_change
from kb.store.models import (
    Document,
    Measure,
    Revision,
    Source,
)
from kb.store.validation import SeedData, Validation, parse_yaml, validate_content


def default_seed_dir() -> Path:
    """`HUIQI_SEED_DIR`, else the curated seed shipped in kb/seed/."""
    return Path(os.environ.get("HUIQI_SEED_DIR") or SEED_DIR)


@dataclass
class LoadResult:
    """What a seed load did: its revision (None when nothing changed) and the ids added, changed, removed."""

    revision_id: int | None
    added: list[str]
    changed: list[str]
    removed: list[str]

    @property
    def unchanged(self) -> bool:
        """Whether the load changed nothing (no revision was recorded)."""
        return self.revision_id is None


def seed_files(directory: Path | None = None) -> list[Path]:
    """The seed's YAML files in a directory (default: `default_seed_dir()`), sorted by name."""
    return sorted((directory or default_seed_dir()).glob("*.yaml"))


def read_seed(paths: Iterable[Path]) -> SeedData:
    """Parse and validate files; raise ValidationFailed listing every problem."""
    state = Validation()
    for path in paths:
        raw = path.read_bytes()
        state.digest.update(path.name.encode() + b"\0" + raw)
        content = parse_yaml(raw, path.name, state.errors)
        if content is not None:
            validate_content(content, path.name, state)
    return state.finish()


def load_seed(session: Session, data: SeedData, *, author: str = "seed", force: bool = False) -> LoadResult:
    """Make the seed-origin rows equal `data`, in the caller's transaction.

    Rows that admins added (origin other than "seed") are never touched. Skips
    the write when the same seed was the last one loaded, unless `force`.
    """
    lock_for_change(session)  # an admin import running now finishes first
    last_seed = session.execute(
        select(Revision).where(Revision.action == "seed").order_by(Revision.id.desc()).limit(1)
    ).scalar_one_or_none()
    if last_seed is not None and last_seed.checksum == data.checksum and not force:
        return LoadResult(None, [], [], [])

    sources = upsert_sources(session, data)
    added: list[str] = []
    changed: list[str] = []
    existing_documents = {d.id: d for d in session.execute(select(Document)).scalars()}
    existing_measures = {m.id: m for m in session.execute(select(Measure)).scalars()}

    for model, items in ((Document, data.documents), (Measure, data.measures)):
        new, differing = upsert_rows(session, model, items, sources, origin="seed")
        added += new
        changed += differing

    gone = [m for m in existing_measures.values() if m.origin == "seed" and m.id not in data.measures]
    gone += [d for d in existing_documents.values() if d.origin == "seed" and d.id not in data.documents]
    removed = [row.id for row in gone]
    for row in gone:
        session.delete(row)
    session.flush()

    revision = Revision(
        author=author,
        action="seed",
        message=f"seed: {len(added)} added, {len(changed)} changed, {len(removed)} removed",
        checksum=data.checksum,
        changes={"added": added, "changed": changed, "removed": removed},
        snapshot=export_data(session),
    )
    session.add(revision)
    session.flush()
    return LoadResult(revision.id, added, changed, removed)

# --- writing helpers ----------------------------------------------------------------------------


def upsert_sources(session: Session, data: SeedData) -> dict[str, Source]:
    """Every source the data refers to or describes, by URL, created where missing; shared by seed and import."""
    existing = {s.url: s for s in session.execute(select(Source)).scalars()}
    wanted = {url for fields in [*data.documents.values(), *data.measures.values()] for url in fields["sources"]}
    for url in sorted((wanted | set(data.sources)) - set(existing)):
        existing[url] = Source(url=url)
        session.add(existing[url])
    for url, meta in data.sources.items():
        for key in ("title", "publisher", "kind"):
            if key in meta:  # a key left out keeps what the database has
                setattr(existing[url], key, meta[key])
    return existing


def assign_fields(row: Document | Measure, fields: dict[str, Any], sources: dict[str, Source]) -> None:
    """Copy validated fields onto a row; "document" (a measure's reference) goes in as document_id."""
    for key, value in fields.items():
        if key == "document":
            row.document_id = value
        elif key != "sources":
            setattr(row, key, value)
    row.sources = [sources[url] for url in fields["sources"]]


def upsert_rows(session: Session, model: type[Document] | type[Measure], items: dict[str, dict[str, Any]],
                sources: dict[str, Source], *, origin: str) -> tuple[list[str], list[str]]:
    """Create or update one row of `model` per id in `items`; return the ids added and the ids whose fields changed."""
    added: list[str] = []
    changed: list[str] = []
    for row_id, fields in items.items():
        row = session.get(model, row_id)
        if row is None:
            row = model(id=row_id, origin=origin)
            session.add(row)
            added.append(row_id)
        elif _row_differs(row, fields):
            changed.append(row_id)
        assign_fields(row, fields, sources)
    return added, changed


def _row_differs(row: Document | Measure, fields: dict[str, Any]) -> bool:
    for key, value in fields.items():
        if key == "document":
            key, value = "document_id", value
        if key == "sources":
            current = [s.url for s in row.sources]
        else:
            current = getattr(row, key)
        if json.dumps(current, default=str, sort_keys=True) != json.dumps(value, default=str, sort_keys=True):
            return True
    return False


def seed_database(url: str, *, author: str = "seed") -> None:
    """Create or upgrade the schema at `url` and load the curated seed: a ready knowledge base."""
    from kb.store.db import make_engine, make_sessionmaker
    from kb.store.schema import create_schema

    engine = make_engine(url)
    try:
        create_schema(engine)
        with make_sessionmaker(engine).begin() as session:
            load_seed(session, read_seed(seed_files()), author=author)
    finally:
        engine.dispose()
