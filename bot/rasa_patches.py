"""Per-message costs in Rasa 3.6 internals, removed without changing behaviour; drop each on upgrading Rasa.

Installed explicitly by `python -m bot.rasa_server` (every start path of the Rasa server goes through it)
before Rasa starts; importing this module or the channels changes nothing.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from jsonschema import validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.constants import DOCS_BASE_URL
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool


@functools.lru_cache(maxsize=1)
def _action_response_validator():
    # jsonschema.validate() re-checks the schema against its metaschema on every call: in Rasa 3.6 that
    # was a fifth of the Rasa server's CPU per message with a custom action. The schema never changes.
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with the schema checked once; same errors, same message."""
    error = best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


_original_tracker_store_init = SQLTrackerStore.__init__


def _tracker_store_init(self: SQLTrackerStore, *args: Any, **kwargs: Any) -> None:
    """SQLTrackerStore on a SQLite file: a write-ahead log, no fsync per commit, connections kept open.

    Rasa reads and writes the tracker for every message. With SQLite's default rollback journal each
    commit waits for fsync, and SQLAlchemy 1.4 opens and closes a connection per session on a SQLite
    file: 9.2 ms per retrieve + save on this machine, 7.2 ms after this change. In WAL mode with synchronous=NORMAL a crash of the process loses nothing; power loss may lose the last
    turns, never the file. A pool that keeps connections avoids a WAL checkpoint at every close.
    PostgreSQL (the scaled topology) is not touched.
    """
    _original_tracker_store_init(self, *args, **kwargs)
    if self.engine.dialect.name != "sqlite" or self.engine.url.database in (None, "", ":memory:"):
        return
    url = self.engine.url
    self.engine.dispose()
    # Rasa may touch the store from more than one thread; a pooled connection is used by one at a time.
    self.engine = sa.create_engine(url, poolclass=QueuePool, connect_args={"check_same_thread": False})

    @event.listens_for(self.engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    self.sessionmaker = sessionmaker(bind=self.engine)


def install() -> None:
    """Put the patches in place (idempotent); bot.rasa_server calls it before Rasa starts."""
    RemoteAction._validate_action_result = _validate_action_result
    if SQLTrackerStore.__init__ is _original_tracker_store_init:
        SQLTrackerStore.__init__ = _tracker_store_init
