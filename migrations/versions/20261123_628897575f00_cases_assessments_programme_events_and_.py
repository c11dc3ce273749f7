"""Case details, status history, workers, emergency access, notes, assessments, programme events, referrals.

Revision ID: 628897575f00
Revises: a9c4ad51464b
Created: 2026-11-23 22:24:12.945915
"""

from alembic import op
import sqlalchemy as sa


revision = '628897575f00'
down_revision = 'a9c4ad51464b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('side', sa.String(length=20), nullable=False),
    sa.Column('form_key', sa.String(length=60), nullable=False),
    sa.Column('form_version', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('form_level', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('judgement_raised', sa.Boolean(), nullable=False),
    sa.Column('police_callouts', sa.Integer(), nullable=True),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('assessor_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('supersedes_id', sa.Uuid(), nullable=True),
    sa.Column('content_enc', sa.LargeBinary(), nullable=True),
    sa.Column('survivor_content_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_assessments_agency_id_agencies')),
    sa.ForeignKeyConstraint(['assessor_id'], ['users.id'], name=op.f('fk_assessments_assessor_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_assessments_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['assessments.id'], name=op.f('fk_assessments_supersedes_id_assessments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index('ix_assessments_case_side_date', ['case_id', 'side', 'assessed_on'], unique=False)

    op.create_table('case_notes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('survivor_confidential', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body_enc', sa.LargeBinary(), nullable=True),
    sa.Column('confidential_body_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_case_notes_agency_id_agencies')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_case_notes_author_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes'))
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notes_case_id'), ['case_id'], unique=False)

    op.create_table('case_status_changes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('open', 'referred', 'heard', 'under_review', 'closed', name='casestatus', native_enum=False, length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_case_status_changes_by_user_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_status_changes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_status_changes'))
    )
    with op.batch_alter_table('case_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_status_changes_case_id'), ['case_id'], unique=False)

    op.create_table('case_workers',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('side', sa.Enum('survivor', 'perpetrator', name='workerside', native_enum=False, length=20), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_workers_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_workers_user_id_users')),
    sa.PrimaryKeyConstraint('case_id', 'user_id', 'side', name=op.f('pk_case_workers'))
    )
    op.create_table('emergency_access',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('reason_enc', sa.LargeBinary(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewer_id', sa.Uuid(), nullable=True),
    sa.Column('review_outcome', sa.String(length=20), nullable=True),
    sa.Column('review_note_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_emergency_access_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_emergency_access_reviewer_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_emergency_access_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_access'))
    )
    with op.batch_alter_table('emergency_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_access_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_emergency_access_user_case', ['user_id', 'case_id', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_access_user_id'), ['user_id'], unique=False)

    op.create_table('programme_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('referred', 'started', 'attended', 'missed_session', 'excluded', 'completed', 'disclosure', 'concerning_behaviour', name='eventkind', native_enum=False, length=30), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_programme_events_agency_id_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_programme_events_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_programme_events_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_events'))
    )
    with op.batch_alter_table('programme_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_events_case_id'), ['case_id'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('referred_by_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('reasons', sa.String(length=200), nullable=False),
    sa.Column('consent', sa.Enum('given', 'refused', 'not_sought_unsafe', name='consent', native_enum=False, length=30), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'scheduled', 'heard', 'withdrawn', name='referralstatus', native_enum=False, length=30), nullable=False),
    sa.Column('repeat_of_id', sa.Uuid(), nullable=True),
    sa.Column('consent_decided_by_enc', sa.LargeBinary(), nullable=True),
    sa.Column('consent_reason_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_referrals_agency_id_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referrals_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referred_by_id'], ['users.id'], name=op.f('fk_referrals_referred_by_id_users')),
    sa.ForeignKeyConstraint(['repeat_of_id'], ['referrals.id'], name=op.f('fk_referrals_repeat_of_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_referrals_status_referred_at', ['status', 'referred_at'], unique=False)

    op.create_table('event_acknowledgements',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_event_acknowledgements_agency_id_agencies')),
    sa.ForeignKeyConstraint(['event_id'], ['programme_events.id'], name=op.f('fk_event_acknowledgements_event_id_programme_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_event_acknowledgements_user_id_users')),
    sa.PrimaryKeyConstraint('event_id', 'agency_id', name=op.f('pk_event_acknowledgements'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details_enc', sa.LargeBinary(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('details_enc')

    op.drop_table('event_acknowledgements')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_status_referred_at')
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('programme_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_events_case_id'))

    op.drop_table('programme_events')
    with op.batch_alter_table('emergency_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_access_user_id'))
        batch_op.drop_index('ix_emergency_access_user_case')
        batch_op.drop_index(batch_op.f('ix_emergency_access_case_id'))

    op.drop_table('emergency_access')
    op.drop_table('case_workers')
    with op.batch_alter_table('case_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_status_changes_case_id'))

    op.drop_table('case_status_changes')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_notes_case_id'))

    op.drop_table('case_notes')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_assessments_case_side_date')

    op.drop_table('assessments')
