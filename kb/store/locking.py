"""The change lock: every change to the knowledge base (seed load, import, edit, rollback) takes it first."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kb.store.models import Revision

# Any fixed number: the PostgreSQL advisory lock that serialises knowledge-base changes.
_PG_LOCK_ID = 0x4B425245
# How long a change waits for another one to finish on SQLite before giving up.
_SQLITE_WAIT_MS = 120_000


def lock_for_change(session: Session) -> None:
    """Serialise changes: the caller's transaction holds the lock until it commits or rolls back.

    Must be the transaction's first statement, so what the change reads is what it writes over.
    PostgreSQL: a transaction-scoped advisory lock. SQLite: a write statement that matches no row
    still takes the database's write lock (the pysqlite driver opens the transaction before it), so
    a second change waits here, up to two minutes, instead of failing on "database is locked".
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_ID})
    elif dialect == "sqlite":
        session.execute(text(f"PRAGMA busy_timeout = {_SQLITE_WAIT_MS}"))
        session.execute(text("UPDATE revisions SET author = author WHERE id < 0"))
    else:  # other databases: lock the newest revision row
        session.execute(select(Revision.id).order_by(Revision.id.desc()).limit(1).with_for_update())
