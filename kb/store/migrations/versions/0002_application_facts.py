"""Application facts and edition metadata: how, where and until when a firm applies; what a source is.

measures: applies_by, channel, application_window, materials. documents: status, press_conference,
articles, lead_departments, co_issuers. sources: kind. Every new column is nullable, so existing rows
stay valid and older readers (which read these with getattr) keep working. A column already present
(a database made by `create_all` from newer models, then adopted by 0001) is left alone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = {
    "measures": [
        sa.Column("applies_by", sa.String(length=20), nullable=True),
        sa.Column("channel", sa.JSON(), nullable=True),
        sa.Column("application_window", sa.JSON(), nullable=True),
        sa.Column("materials", sa.JSON(), nullable=True),
    ],
    "documents": [
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("press_conference", sa.Date(), nullable=True),
        sa.Column("articles", sa.Integer(), nullable=True),
        sa.Column("lead_departments", sa.JSON(), nullable=True),
        sa.Column("co_issuers", sa.JSON(), nullable=True),
    ],
    "sources": [
        sa.Column("kind", sa.String(length=20), nullable=True),
    ],
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, columns in COLUMNS.items():
        present = {column["name"] for column in inspector.get_columns(table)}
        for column in columns:
            if column.name not in present:
                op.add_column(table, column.copy())


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column.name)
