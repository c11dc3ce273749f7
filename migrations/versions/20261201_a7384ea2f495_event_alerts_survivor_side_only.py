"""Event alerts for survivor-side agencies only.

Revision ID: a7384ea2f495
Revises: 5c2e7d0b9a41
Created: 2026-12-01 10:00:00

Programme events reach the survivor side as alerts; a perpetrator-facing agency is never shown
them, so its open-alert rows were written and never read. They are removed; the downgrade
writes them again from the events and acknowledgements, as the table's own migration did.
"""

import sqlalchemy as sa
from alembic import op

revision = 'a7384ea2f495'
down_revision = '5c2e7d0b9a41'
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.execute(sa.text(
        "DELETE FROM event_alerts WHERE agency_id IN "
        "(SELECT id FROM agencies WHERE kind = 'perpetrator_programme')"
    ))


def downgrade() -> None:
    op.execute(sa.text(
        "INSERT INTO event_alerts (agency_id, event_id, recorded_at) "
        "SELECT case_agencies.agency_id, programme_events.id, programme_events.recorded_at "
        "FROM programme_events JOIN case_agencies ON case_agencies.case_id = programme_events.case_id "
        "JOIN agencies ON agencies.id = case_agencies.agency_id "
        "WHERE agencies.kind = 'perpetrator_programme' AND NOT EXISTS (SELECT 1 FROM event_acknowledgements "
        "WHERE event_acknowledgements.event_id = programme_events.id "
        "AND event_acknowledgements.agency_id = case_agencies.agency_id)"
    ))
