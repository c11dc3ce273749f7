"""Users choose their own password after an admin sets one.

Revision ID: b3f9d2c7e815
Revises: e5a8c3f1d290
Created: 2026-12-02 03:15:00

Existing users keep their passwords: the flag starts false for everyone.
"""

import sqlalchemy as sa
from alembic import op

revision = 'b3f9d2c7e815'
down_revision = 'e5a8c3f1d290'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place, not batch mode (see downgrade): both databases add a column with a default directly.
    op.add_column('users', sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                     nullable=False))


def downgrade() -> None:
    # Not batch mode: on SQLite that copies the table, and dropping the old one breaks the foreign
    # keys of every table naming users. SQLite (3.35 and later) drops a plain column in place.
    op.execute(sa.text("ALTER TABLE users DROP COLUMN must_change_password"))
