"""Shared fixtures: a fresh knowledge base per test, loaded from the real seed where asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from kb.store.db import close_all, make_engine, make_sessionmaker
from kb.store.loader import load_seed, read_seed, seed_database, seed_files
from kb.store.schema import create_schema

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_databases():
    """Engines the code under test opened through kb.store.db.sessions() are closed after each test."""
    yield
    close_all()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kb.sqlite3'}"


@pytest.fixture
def sessions(db_url: str) -> sessionmaker:
    engine = make_engine(db_url)
    create_schema(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def seed_data():
    return read_seed(seed_files())


@pytest.fixture
def seeded(sessions: sessionmaker, seed_data) -> sessionmaker:
    with sessions.begin() as session:
        load_seed(session, seed_data)
    return sessions


@pytest.fixture(scope="session")
def conversation_kb(tmp_path_factory) -> str:
    """A knowledge base loaded from the seed, shared by the tests that start real servers."""
    url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.sqlite3'}"
    seed_database(url)
    return url
