"""Versioned schema: migrations give exactly kb/store/models.py, and older create_all databases are adopted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kb.store.db import make_engine
from kb.store.models import Base
from kb.store.schema import create_schema, current_revision, head_revision


def schema_diff(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    yield engine
    engine.dispose()


def test_migrations_on_sqlite_give_exactly_the_models_schema(engine):
    create_schema(engine)
    assert current_revision(engine) == head_revision()
    assert schema_diff(engine) == [], "kb/store/models.py changed without a migration: python -m kb.store.schema revision -m ..."


def test_upgrading_twice_changes_nothing_and_keeps_data(engine):
    create_schema(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO staff_members (staff_id, role) VALUES ('s1', 'staff')"))
    create_schema(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT staff_id FROM staff_members")).scalars().all() == ["s1"]


def test_a_database_made_by_create_all_before_migrations_is_adopted_with_its_data(engine):
    # As the first release made it: no firms/staff tables, no staff-only measure columns, no alembic_version.
    later = {"firms", "staff_members", "admin_tokens", "asked_questions"}
    Base.metadata.create_all(engine, tables=[t for t in Base.metadata.sorted_tables if t.name not in later])
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE measures DROP COLUMN internal_note"))
        connection.execute(sa.text("ALTER TABLE measures DROP COLUMN internal_contact"))
        connection.execute(sa.text(
            "INSERT INTO documents (id, family, edition, title, aliases, summary, structure, confidence, origin) "
            "VALUES ('d1', 'private_economy_32', '2023', 't', '[]', 's', '{}', 'high', 'seed')"))

    create_schema(engine)

    assert current_revision(engine) == head_revision()
    assert schema_diff(engine) == []
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id FROM documents")).scalars().all() == ["d1"]


def test_an_old_table_missing_a_required_column_is_refused_by_name(engine):
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE firms (credit_code VARCHAR(18) PRIMARY KEY)"))
    with pytest.raises(RuntimeError, match="table firms: column name is missing"):
        create_schema(engine)
    assert current_revision(engine) is None
