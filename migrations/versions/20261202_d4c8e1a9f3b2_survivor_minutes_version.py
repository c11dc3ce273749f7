"""Survivor-side minutes keep their own version.

Revision ID: d4c8e1a9f3b2
Revises: b3f9d2c7e815
Created: 2026-12-02 18:00:00

Saving the survivor-side-only part of a case's minutes no longer moves the agenda entry's own
version, which perpetrator-facing chairs see (their forms and buttons carry it): a change in it
told them that something they cannot read had been written. The survivor-side part is checked
against this counter instead, so two survivor-side editors still never overwrite each other.
"""

import sqlalchemy as sa
from alembic import op

revision = 'd4c8e1a9f3b2'
down_revision = 'b3f9d2c7e815'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place, not batch mode (see downgrade): both databases add a column with a default directly.
    op.add_column('agenda_items', sa.Column('survivor_minutes_version', sa.Integer(), server_default='1',
                                            nullable=False))


def downgrade() -> None:
    # Not batch mode: on SQLite that copies the table, and dropping the old one breaks the foreign
    # keys of every table naming agenda items. SQLite (3.35 and later) drops a plain column in place.
    op.execute(sa.text("ALTER TABLE agenda_items DROP COLUMN survivor_minutes_version"))
