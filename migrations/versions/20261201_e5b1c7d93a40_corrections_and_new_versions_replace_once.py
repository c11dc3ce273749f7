"""An assessment is corrected once, a protocol version superseded once.

Revision ID: e5b1c7d93a40
Revises: c41d9e7a2b6f
Created: 2026-12-01 10:00:00

A correction replaces one assessment, and a new protocol version replaces one version; a second
correction or new version of the same one (a form sent twice) is refused. A unique index on
`supersedes_id` makes the database refuse it too when two requests arrive at the same moment.
Rows that already replace the same one must be resolved by hand before this runs.
"""

import sqlalchemy as sa
from alembic import op

revision = 'e5b1c7d93a40'
down_revision = 'c41d9e7a2b6f'
branch_labels = None
depends_on = None

TABLES = ("assessments", "protocols")


def upgrade() -> None:
    connection = op.get_bind()
    for table in TABLES:
        twice = connection.execute(sa.text(
            f"SELECT supersedes_id FROM {table} WHERE supersedes_id IS NOT NULL "  # noqa: S608 - fixed names
            "GROUP BY supersedes_id HAVING COUNT(*) > 1")).scalars().all()
        if twice:
            raise RuntimeError(f"{len(twice)} row(s) of {table} are replaced more than once; keep one replacement "
                               f"of each (supersedes_id in {sorted(str(t) for t in twice)}) and run this again")
        op.create_index(f"ix_{table}_supersedes_id", table, ["supersedes_id"], unique=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_supersedes_id", table_name=table)
