"""Alembic environment: always run from kb.store.schema with a connection it opened (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from kb.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through kb.store.schema.create_schema, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    compare_type=True,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
