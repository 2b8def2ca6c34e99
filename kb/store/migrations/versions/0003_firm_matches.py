"""Policy-to-firm matching (政策找企业): match_runs and firm_matches.

match_runs: one pass of a changed measure's rule over the firm registry, with its counts and the push
to the staff robot. firm_matches: each registered firm's verdict, keyed by (revision, measure, firm).
Neither refers to measures or firms by foreign key: a result outlives a measure or firm removed later.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    if "match_runs" not in present:
        op.create_table(
            "match_runs",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("revision_id", sa.Integer(), nullable=False, index=True),
            sa.Column("measure_id", sa.String(length=80), nullable=False, index=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("firms", sa.Integer(), nullable=False),
            sa.Column("counts", sa.JSON(), nullable=False),
            sa.Column("push", sa.String(length=20), nullable=True),
            sa.Column("push_error", sa.Text(), nullable=True),
        )
    if "firm_matches" not in present:
        op.create_table(
            "firm_matches",
            sa.Column("revision_id", sa.Integer(), primary_key=True),
            sa.Column("measure_id", sa.String(length=80), primary_key=True, index=True),
            sa.Column("credit_code", sa.String(length=18), primary_key=True),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("status", sa.String(length=20), nullable=False),
            sa.Column("missing", sa.JSON(), nullable=False),
            sa.Column("to_confirm", sa.JSON(), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("firm_matches")
    op.drop_table("match_runs")
