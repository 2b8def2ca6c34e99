"""Engine and session factory: one factory per database URL in a process, made on first use, never at import."""

from __future__ import annotations

import os
import threading

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from kb.paths import DEFAULT_DB_PATH


def database_url() -> str:
    """`HUIQI_DB_URL`, or a SQLite file inside the project."""
    url = os.environ.get("HUIQI_DB_URL", "").strip()
    if url:
        return url
    DEFAULT_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DB_PATH}"


def safe_url(url: str) -> str:
    """The database URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def make_engine(url: str | None = None) -> Engine:
    """A new engine for a URL (default: `database_url()`), with SQLite's pragmas set on every connection."""
    url = url or database_url()
    engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the bot read while an import writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker:
    """A session factory over an engine the caller owns (2.0 style, objects usable after commit)."""
    return sessionmaker(engine, future=True, expire_on_commit=False)


def sessions(url: str | None = None) -> sessionmaker:
    """The process's session factory for a database (default: `database_url()`), the same one on every call."""
    url = url or database_url()
    with _lock:
        if url not in _cached:
            _cached[url] = make_sessionmaker(make_engine(url))
        return _cached[url]


_cached: dict[str, sessionmaker] = {}
_lock = threading.Lock()


def close_all() -> None:
    """Dispose every engine `sessions()` made in this process and forget them (tests, shutdown)."""
    with _lock:
        for factory in _cached.values():
            engine_of(factory).dispose()
        _cached.clear()


def engine_of(factory: sessionmaker) -> Engine:
    """The engine a session factory is bound to."""
    return factory.kw["bind"]
