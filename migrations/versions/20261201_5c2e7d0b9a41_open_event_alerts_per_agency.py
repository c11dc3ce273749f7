"""Open event alerts, one row per agency and unacknowledged event, for the dashboard.

Revision ID: 5c2e7d0b9a41
Revises: 49e1fa850688
Created: 2026-12-01 01:20:00

The rows are filled from the events already recorded: every event on a case, for every agency
involved in that case that has not acknowledged it.
"""

import sqlalchemy as sa
from alembic import op

revision = '5c2e7d0b9a41'
down_revision = '49e1fa850688'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_alerts',
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['programme_events.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agency_id', 'event_id')
    )
    with op.batch_alter_table('event_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_event_alerts_agency_recorded', ['agency_id', 'recorded_at'], unique=False)
    op.execute(sa.text(
        "INSERT INTO event_alerts (agency_id, event_id, recorded_at) "
        "SELECT case_agencies.agency_id, programme_events.id, programme_events.recorded_at "
        "FROM programme_events JOIN case_agencies ON case_agencies.case_id = programme_events.case_id "
        "WHERE NOT EXISTS (SELECT 1 FROM event_acknowledgements "
        "WHERE event_acknowledgements.event_id = programme_events.id "
        "AND event_acknowledgements.agency_id = case_agencies.agency_id)"
    ))


def downgrade() -> None:
    with op.batch_alter_table('event_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_event_alerts_agency_recorded')
    op.drop_table('event_alerts')
