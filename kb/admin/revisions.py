"""Revisions: the change lock, diffs between exports, the audit record and rollback.

Every change to the knowledge base (seed load, admin import, edit, rollback) runs
in one transaction that first takes `lock_for_change`, so two changes never
interleave, and ends with `record_revision`, which stores who, when, what was
added, changed and removed, and the full export after the change. Rolling back
is a new revision whose content is an earlier revision's snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KBError
from kb.store.exporter import export_data
from kb.store.locking import lock_for_change
from kb.store.models import Document, Firm, Measure, Revision, Source

KINDS = (("documents", "id"), ("measures", "id"), ("firms", "credit_code"))


class RevisionNotFound(KBError):
    """A rollback to a revision that does not exist or has no snapshot."""


def _records(export: dict[str, list[dict]], kind: str, key: str) -> dict[str, dict]:
    return {record[key]: record for record in export.get(kind, [])}


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


def diff_exports(before: dict, after: dict) -> dict[str, dict[str, Any]]:
    """Say what changed between two exports, by kind: ids added and removed, changed fields as [old, new]."""
    diff: dict[str, dict[str, Any]] = {}
    for kind, key in KINDS:
        old, new = _records(before, kind, key), _records(after, kind, key)
        changed = {}
        for item_id in sorted(set(old) & set(new)):
            fields = {name: [old[item_id].get(name), new[item_id].get(name)]
                      for name in sorted(set(old[item_id]) | set(new[item_id]))
                      if not _same(old[item_id].get(name), new[item_id].get(name))}
            if fields:
                changed[item_id] = fields
        diff[kind] = {"added": sorted(set(new) - set(old)), "changed": changed, "removed": sorted(set(old) - set(new))}
    return diff


def diff_is_empty(diff: dict[str, dict[str, Any]]) -> bool:
    """Whether a diff adds, changes and removes nothing."""
    return not any(part["added"] or part["changed"] or part["removed"] for part in diff.values())


def summarise(diff: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Flat id lists, the shape the seed loader records in `Revision.changes`."""
    return {
        "added": [i for part in diff.values() for i in part["added"]],
        "changed": [i for part in diff.values() for i in part["changed"]],
        "removed": [i for part in diff.values() for i in part["removed"]],
    }


def describe(diff: dict[str, dict[str, Any]]) -> str:
    """A diff in one line of counts: added, changed, removed."""
    counts = summarise(diff)
    return f"新增 {len(counts['added'])}，修改 {len(counts['changed'])}，删除 {len(counts['removed'])}"


def record_revision(
    session: Session, *, author: str, action: str, message: str, diff: dict, after: dict, checksum: str | None = None,
) -> Revision:
    """Write the audit record of a change; `after` is the export once the change is applied."""
    revision = Revision(author=author, action=action, message=message[:500], checksum=checksum,
                        changes={**summarise(diff), "diff": diff}, snapshot=after)
    session.add(revision)
    session.flush()
    return revision


@dataclass
class ChangeResult:
    """What a change did (or, for a dry run, would do)."""

    revision_id: int | None
    diff: dict[str, dict[str, Any]]
    dry_run: bool = False
    retrain_terms: tuple[str, ...] = ()
    # 政策找企业: the runs (kb.eligibility.matches.RunSummary) the change's commit started; empty until then.
    matches: list = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        """Whether the change changed nothing."""
        return diff_is_empty(self.diff)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON: revision, dry run, summary, diff, the retraining it suggests and the match runs."""
        return {"revision": self.revision_id, "dry_run": self.dry_run, "unchanged": self.unchanged,
                "summary": describe(self.diff), "diff": self.diff, "retrain_suggested": bool(self.retrain_terms),
                "retrain_terms": list(self.retrain_terms), "matches": [run.as_dict() for run in self.matches]}


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _sources(session: Session, urls: list[str], cache: dict[str, Source]) -> list[Source]:
    rows = []
    for url in urls:
        if url not in cache:
            cache[url] = Source(url=url)
            session.add(cache[url])
        rows.append(cache[url])
    return rows


def restore_snapshot(session: Session, snapshot: dict) -> None:
    """Make the documents, measures and firms equal a snapshot (an export), in the caller's transaction.

    A snapshot written before firms were exported has no "firms" key; firms are then left as they are.
    """
    cache = {s.url: s for s in session.execute(select(Source)).scalars()}
    documents = _records(snapshot, "documents", "id")
    measures = _records(snapshot, "measures", "id")
    for measure in session.execute(select(Measure)).scalars().all():
        if measure.id not in measures:
            session.delete(measure)
    session.flush()
    for document in session.execute(select(Document)).scalars().all():
        if document.id not in documents:
            session.delete(document)
    session.flush()
    for document_id, record in documents.items():
        row = session.get(Document, document_id) or Document(id=document_id)
        session.add(row)
        for name in ("family", "edition", "title", "short_name", "issuer", "doc_number", "summary", "confidence",
                     "origin"):
            setattr(row, name, record[name])
        row.aliases = list(record["aliases"])
        row.structure = record["structure"]
        for name in ("published", "valid_from", "valid_to"):
            setattr(row, name, _date(record[name]))
        row.sources = _sources(session, record["sources"], cache)
    session.flush()
    for measure_id, record in measures.items():
        row = session.get(Measure, measure_id) or Measure(id=measure_id)
        session.add(row)
        for name in ("document_id", "number", "title", "summary", "outline_only", "department", "contact",
                     "how_to_apply", "rule", "confidence", "note", "internal_note", "internal_contact", "origin"):
            setattr(row, name, record[name])
        row.aspect = record["aspect_or_package"]
        row.benefits = list(record["benefits"])
        row.keywords = list(record["keywords"])
        for name in ("valid_from", "valid_to"):
            setattr(row, name, _date(record[name]))
        row.sources = _sources(session, record["sources"], cache)
    if "firms" in snapshot:
        firms = _records(snapshot, "firms", "credit_code")
        for firm in session.execute(select(Firm)).scalars().all():
            if firm.credit_code not in firms:
                session.delete(firm)
        for code, record in firms.items():
            row = session.get(Firm, code) or Firm(credit_code=code)
            session.add(row)
            row.name, row.facts, row.origin = record["name"], dict(record["facts"]), record["origin"]
    session.flush()
    session.expire_all()  # relationships (document.measures) must be read again after the rewrite


def rollback(session: Session, revision_id: int, *, author: str) -> ChangeResult:
    """Write a new revision whose content is exactly revision `revision_id`'s snapshot."""
    lock_for_change(session)
    target = session.get(Revision, revision_id)
    if target is None or target.snapshot is None:
        raise RevisionNotFound(f"修订 {revision_id} 不存在或没有快照，无法回滚")
    before = export_data(session)
    restore_snapshot(session, target.snapshot)
    after = export_data(session)
    diff = diff_exports(before, after)
    if diff_is_empty(diff):
        return ChangeResult(None, diff)
    revision = record_revision(session, author=author, action="rollback",
                               message=f"回滚到修订 {revision_id}：{describe(diff)}", diff=diff, after=after)
    result = ChangeResult(revision.id, diff)
    from kb.eligibility.matches import schedule  # (kb.eligibility imports kb.admin.revisions' neighbours, not it)

    schedule(session, revision.id, diff, result)  # 政策找企业: re-match what the rollback changed, after commit
    return result


def revision_record(revision: Revision) -> dict[str, Any]:
    """Describe a revision for listings (without its snapshot)."""
    changes = revision.changes or {}
    return {
        "id": revision.id,
        "created_at": revision.created_at.isoformat(timespec="seconds"),
        "author": revision.author,
        "action": revision.action,
        "message": revision.message,
        "added": changes.get("added", []),
        "changed": changes.get("changed", []),
        "removed": changes.get("removed", []),
    }
