"""Initial schema: documents, measures, sources, revisions, firms, staff, admin tokens, asked questions.

Also adopts databases made by `create_all` before migrations existed: tables
that are missing are created, columns and indexes that are missing are added,
and nothing present is touched. The table definitions are frozen here, as of
this revision; later changes to kb/store/models.py need their own migration.

Revision ID: 0001
Revises:
Create Date: 2026-02-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

metadata = sa.MetaData()

sa.Table(
    "sources", metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("url", sa.String(length=1000), nullable=False, unique=True),
    sa.Column("title", sa.String(length=500), nullable=True),
    sa.Column("publisher", sa.String(length=200), nullable=True),
)
sa.Table(
    "documents", metadata,
    sa.Column("id", sa.String(length=80), primary_key=True),
    sa.Column("family", sa.String(length=40), nullable=False, index=True),
    sa.Column("edition", sa.String(length=20), nullable=False),
    sa.Column("title", sa.String(length=300), nullable=False),
    sa.Column("short_name", sa.String(length=100), nullable=True),
    sa.Column("aliases", sa.JSON(), nullable=False),
    sa.Column("issuer", sa.String(length=200), nullable=True),
    sa.Column("doc_number", sa.String(length=100), nullable=True),
    sa.Column("published", sa.Date(), nullable=True),
    sa.Column("valid_from", sa.Date(), nullable=True),
    sa.Column("valid_to", sa.Date(), nullable=True),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("structure", sa.JSON(), nullable=False),
    sa.Column("confidence", sa.String(length=10), nullable=False),
    sa.Column("origin", sa.String(length=20), nullable=False),
)
sa.Table(
    "measures", metadata,
    sa.Column("id", sa.String(length=80), primary_key=True),
    sa.Column("document_id", sa.String(length=80), sa.ForeignKey("documents.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("number", sa.Integer(), nullable=True),
    sa.Column("aspect", sa.String(length=100), nullable=True),
    sa.Column("title", sa.String(length=300), nullable=False),
    sa.Column("summary", sa.Text(), nullable=False),
    sa.Column("outline_only", sa.Boolean(), nullable=False),
    sa.Column("benefits", sa.JSON(), nullable=False),
    sa.Column("department", sa.String(length=300), nullable=True),
    sa.Column("contact", sa.String(length=300), nullable=True),
    sa.Column("how_to_apply", sa.Text(), nullable=True),
    sa.Column("keywords", sa.JSON(), nullable=False),
    sa.Column("rule", sa.JSON(), nullable=True),
    sa.Column("valid_from", sa.Date(), nullable=True),
    sa.Column("valid_to", sa.Date(), nullable=True),
    sa.Column("confidence", sa.String(length=10), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("internal_note", sa.Text(), nullable=True),
    sa.Column("internal_contact", sa.String(length=300), nullable=True),
    sa.Column("origin", sa.String(length=20), nullable=False),
)
sa.Table(
    "document_sources", metadata,
    sa.Column("document_id", sa.String(length=80), sa.ForeignKey("documents.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
)
sa.Table(
    "measure_sources", metadata,
    sa.Column("measure_id", sa.String(length=80), sa.ForeignKey("measures.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
)
sa.Table(
    "revisions", metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("author", sa.String(length=100), nullable=False),
    sa.Column("action", sa.String(length=20), nullable=False),
    sa.Column("message", sa.String(length=500), nullable=True),
    sa.Column("checksum", sa.String(length=64), nullable=True),
    sa.Column("changes", sa.JSON(), nullable=False),
    sa.Column("snapshot", sa.JSON(), nullable=True),
)
sa.Table(
    "firms", metadata,
    sa.Column("credit_code", sa.String(length=18), primary_key=True),
    sa.Column("name", sa.String(length=200), nullable=False, index=True),
    sa.Column("facts", sa.JSON(), nullable=False),
    sa.Column("origin", sa.String(length=20), nullable=False),
)
sa.Table(
    "staff_members", metadata,
    sa.Column("staff_id", sa.String(length=100), primary_key=True),
    sa.Column("name", sa.String(length=100), nullable=True),
    sa.Column("role", sa.String(length=20), nullable=False),
)
sa.Table(
    "admin_tokens", metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("name", sa.String(length=100), nullable=False),
    sa.Column("token_hash", sa.String(length=128), nullable=False, unique=True),
    sa.Column("role", sa.String(length=20), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("revoked", sa.Boolean(), nullable=False),
)
sa.Table(
    "asked_questions", metadata,
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
    sa.Column("kind", sa.String(length=20), nullable=False),
    sa.Column("channel", sa.String(length=40), nullable=False),
    sa.Column("sender", sa.String(length=200), nullable=True),
    sa.Column("text", sa.Text(), nullable=False),
)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    # sorted_tables: parents before children, so foreign keys resolve.
    metadata.create_all(bind, tables=[t for t in metadata.sorted_tables if t.name not in existing])
    for table in metadata.sorted_tables:
        if table.name in existing:
            _adopt(inspector, table)


def _adopt(inspector, table: sa.Table) -> None:
    """Bring a table made by an older `create_all` up to this revision, or say what stops it."""
    present = {column["name"] for column in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name in present:
            continue
        if not column.nullable:
            raise RuntimeError(f"table {table.name}: column {column.name} is missing and NOT NULL; "
                               f"this database predates the migrations and cannot be adopted")
        op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    indexes = {index["name"] for index in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            index.create(op.get_bind())


def downgrade() -> None:
    for table in reversed(metadata.sorted_tables):
        op.drop_table(table.name)
