"""Safety actions that are survivor-side only.

Revision ID: c41d9e7a2b6f
Revises: a7384ea2f495
Created: 2026-12-01 15:00:00

An action such as a refuge place or a sanctuary scheme at the survivor's new address is agreed
at the meeting but must never reach a perpetrator-facing user. Existing actions stay shared.
"""

import sqlalchemy as sa
from alembic import op

revision = 'c41d9e7a2b6f'
down_revision = 'a7384ea2f495'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("safety_actions") as batch:
        batch.add_column(sa.Column("survivor_only", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("safety_actions") as batch:
        batch.drop_column("survivor_only")
