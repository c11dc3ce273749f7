"""Partnerships, information-sharing protocols (versioned), partner contact tasks, attempts and risk notices.

Revision ID: afdde1982fd1
Revises: 4a3f529a21c8
Created: 2026-11-23 22:51:50.579679
"""

from alembic import op
import sqlalchemy as sa


revision = 'afdde1982fd1'
down_revision = '4a3f529a21c8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('protocols',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('version_number', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Uuid(), nullable=True),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=False),
    sa.Column('legal_basis', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('terms_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['supersedes_id'], ['protocols.id'], name=op.f('fk_protocols_supersedes_id_protocols')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocols'))
    )
    op.create_table('partnerships',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('programme_agency_id', sa.Uuid(), nullable=False),
    sa.Column('model', sa.Enum('integrated', 'external', 'co_located', name='cooperationmodel', native_enum=False, length=20), nullable=False),
    sa.Column('max_days_to_offer', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contacts_enc', sa.LargeBinary(), nullable=True),
    sa.Column('matrix_enc', sa.LargeBinary(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['programme_agency_id'], ['agencies.id'], name=op.f('fk_partnerships_programme_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partnerships')),
    sa.UniqueConstraint('name', name=op.f('uq_partnerships_name'))
    )
    with op.batch_alter_table('partnerships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partnerships_programme_agency_id'), ['programme_agency_id'], unique=False)

    op.create_table('protocol_flows',
    sa.Column('protocol_id', sa.Uuid(), nullable=False),
    sa.Column('category', sa.Enum('attendance', 'non_compliance', 'risk_events', 'completion', 'partner_contact_status', 'risk_level', 'survivor_contact', 'survivor_disclosures', name='category', native_enum=False, length=30), nullable=False),
    sa.Column('direction', sa.Enum('to_survivor_side', 'to_programme', name='flowdirection', native_enum=False, length=20), nullable=False),
    sa.ForeignKeyConstraint(['protocol_id'], ['protocols.id'], name=op.f('fk_protocol_flows_protocol_id_protocols'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('protocol_id', 'category', 'direction', name=op.f('pk_protocol_flows'))
    )
    op.create_table('protocol_parties',
    sa.Column('protocol_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_protocol_parties_agency_id_agencies')),
    sa.ForeignKeyConstraint(['protocol_id'], ['protocols.id'], name=op.f('fk_protocol_parties_protocol_id_protocols'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('protocol_id', 'agency_id', name=op.f('pk_protocol_parties'))
    )
    with op.batch_alter_table('protocol_parties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protocol_parties_agency_id'), ['agency_id'], unique=False)

    op.create_table('partner_contact_tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('partnership_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_offer_on', sa.Date(), nullable=True),
    sa.Column('in_place', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_partner_contact_tasks_agency_id_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_partner_contact_tasks_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], name=op.f('fk_partner_contact_tasks_partnership_id_partnerships')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_contact_tasks'))
    )
    with op.batch_alter_table('partner_contact_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_contact_tasks_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_contact_tasks_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_contact_tasks_partnership_id'), ['partnership_id'], unique=False)

    op.create_table('partnership_services',
    sa.Column('partnership_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_partnership_services_agency_id_agencies')),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], name=op.f('fk_partnership_services_partnership_id_partnerships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('partnership_id', 'agency_id', name=op.f('pk_partnership_services'))
    )
    with op.batch_alter_table('partnership_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partnership_services_agency_id'), ['agency_id'], unique=False)

    op.create_table('partner_contact_attempts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Enum('offered', 'accepted', 'declined', 'unreachable', 'unsafe', name='contactoutcome', native_enum=False, length=20), nullable=False),
    sa.Column('by_user_id', sa.Uuid(), nullable=False),
    sa.Column('support_enc', sa.LargeBinary(), nullable=True),
    sa.Column('safety_planning_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_partner_contact_attempts_by_user_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['partner_contact_tasks.id'], name=op.f('fk_partner_contact_attempts_task_id_partner_contact_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_contact_attempts'))
    )
    with op.batch_alter_table('partner_contact_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_contact_attempts_task_id'), ['task_id'], unique=False)

    op.create_table('risk_notices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('partner_informed', sa.Boolean(), nullable=True),
    sa.Column('resolved_by_id', sa.Uuid(), nullable=True),
    sa.Column('reason_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['programme_events.id'], name=op.f('fk_risk_notices_event_id_programme_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_risk_notices_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['partner_contact_tasks.id'], name=op.f('fk_risk_notices_task_id_partner_contact_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_notices'))
    )
    with op.batch_alter_table('risk_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_notices_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_notices_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('risk_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_notices_task_id'))
        batch_op.drop_index(batch_op.f('ix_risk_notices_event_id'))

    op.drop_table('risk_notices')
    with op.batch_alter_table('partner_contact_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_contact_attempts_task_id'))

    op.drop_table('partner_contact_attempts')
    with op.batch_alter_table('partnership_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partnership_services_agency_id'))

    op.drop_table('partnership_services')
    with op.batch_alter_table('partner_contact_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_contact_tasks_partnership_id'))
        batch_op.drop_index(batch_op.f('ix_partner_contact_tasks_case_id'))
        batch_op.drop_index(batch_op.f('ix_partner_contact_tasks_agency_id'))

    op.drop_table('partner_contact_tasks')
    with op.batch_alter_table('protocol_parties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protocol_parties_agency_id'))

    op.drop_table('protocol_parties')
    op.drop_table('protocol_flows')
    with op.batch_alter_table('partnerships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partnerships_programme_agency_id'))

    op.drop_table('partnerships')
    op.drop_table('protocols')
