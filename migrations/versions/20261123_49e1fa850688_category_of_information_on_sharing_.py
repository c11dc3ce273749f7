"""Sharing records name the category of information when a perpetrator programme is involved.

Revision ID: 49e1fa850688
Revises: afdde1982fd1
Created: 2026-11-23 23:19:17.589963
"""

from alembic import op
import sqlalchemy as sa


revision = '49e1fa850688'
down_revision = 'afdde1982fd1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sharing_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.Enum('attendance', 'non_compliance', 'risk_events', 'completion', 'partner_contact_status', 'risk_level', 'survivor_contact', 'survivor_disclosures', name='category', native_enum=False, length=30), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('sharing_records', schema=None) as batch_op:
        batch_op.drop_column('category')

