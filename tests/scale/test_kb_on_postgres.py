"""The knowledge base on PostgreSQL: migrated to exactly the models, and the same export as on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.settings import PROJECT_ROOT
from kb.store.db import make_engine
from kb.store.models import Base
from kb.store.schema import create_schema, current_revision, head_revision

pytestmark = pytest.mark.scale


def huiqi(db_url: str, *args: str) -> str:
    env = {**os.environ, "HUIQI_DB_URL": db_url, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_migrations_on_postgresql_give_exactly_the_models_schema(pg_database):
    _, url = pg_database("schema")
    engine = make_engine(url)
    create_schema(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert diff == [], f"kb/store/models.py differs from the migrations; add one (python -m kb.store.schema revision -m ...): {diff}"


def test_the_knowledge_base_loaded_through_the_cli_exports_the_same_on_postgresql_as_on_sqlite(pg_database, tmp_path):
    _, pg_url = pg_database("export")
    sqlite_url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    exports = {}
    for url in (sqlite_url, pg_url):
        huiqi(url, "kb", "load")
        exports[url] = huiqi(url, "kb", "export", "--format", "json")
    assert exports[pg_url] == exports[sqlite_url]
    data = json.loads(exports[pg_url])
    assert len(data["documents"]) > 5 and len(data["measures"]) > 50
