"""Once-only tokens of forms that create something.

Revision ID: e5a8c3f1d290
Revises: e5b1c7d93a40
Created: 2026-12-01 19:00:00

A form that creates a case, a note, an assessment, an action or a record carries a token made
when it was shown; the first submission stores it, and the same form posted again creates
nothing more. Rows are kept for a day.
"""

import sqlalchemy as sa
from alembic import op

revision = 'e5a8c3f1d290'
down_revision = 'e5b1c7d93a40'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_form_submissions_submitted_at", "form_submissions", ["submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_form_submissions_submitted_at", table_name="form_submissions")
    op.drop_table("form_submissions")
