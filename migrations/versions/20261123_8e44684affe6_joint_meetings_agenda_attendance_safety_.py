"""Joint meetings: schedule, invites, attendance, agenda items, safety actions, minutes copies, feeds.

Revision ID: 8e44684affe6
Revises: 628897575f00
Created: 2026-11-23 22:33:36.301559
"""

from alembic import op
import sqlalchemy as sa


revision = '8e44684affe6'
down_revision = '628897575f00'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_feeds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feeds_user_id'), ['user_id'], unique=False)

    op.create_table('meetings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('series_id', sa.Uuid(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('venue', sa.String(length=200), nullable=False),
    sa.Column('online_link', sa.String(length=500), nullable=False),
    sa.Column('chair_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'in_progress', 'closed', name='meetingstatus', native_enum=False, length=30), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['users.id'], name=op.f('fk_meetings_chair_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings')),
    sa.UniqueConstraint('reference', name=op.f('uq_meetings_reference'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetings_series_id'), ['series_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_starts_at'), ['starts_at'], unique=False)

    op.create_table('agenda_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('actions_review', 'case', 'other_business', name='itemkind', native_enum=False, length=20), nullable=False),
    sa.Column('agenda_group', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('referral_id', sa.Uuid(), nullable=True),
    sa.Column('heard_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('minutes_enc', sa.LargeBinary(), nullable=True),
    sa.Column('survivor_minutes_enc', sa.LargeBinary(), nullable=True),
    sa.Column('decisions_enc', sa.LargeBinary(), nullable=True),
    sa.Column('informs_survivor_enc', sa.LargeBinary(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_agenda_items_case_id_cases')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_agenda_items_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_agenda_items_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_items'))
    )
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_items_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agenda_items_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index('ix_agenda_items_meeting_position', ['meeting_id', 'position'], unique=False)

    op.create_table('attendance',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('attendee', 'apology', 'observer', name='attendancekind', native_enum=False, length=20), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('name_enc', sa.LargeBinary(), nullable=True),
    sa.Column('info_sent', sa.Boolean(), nullable=False),
    sa.Column('info_sent_on', sa.Date(), nullable=True),
    sa.Column('confidentiality_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_attendance_agency_id_agencies')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_attendance_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attendance_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance'))
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_invites',
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_meeting_invites_agency_id_agencies')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_invites_meeting_id_meetings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', 'agency_id', name=op.f('pk_meeting_invites'))
    )
    with op.batch_alter_table('meeting_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_invites_agency_id'), ['agency_id'], unique=False)

    op.create_table('minutes_distribution',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_minutes_distribution_agency_id_agencies')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_minutes_distribution_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_minutes_distribution_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes_distribution'))
    )
    with op.batch_alter_table('minutes_distribution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_minutes_distribution_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('safety_actions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('owner_agency_id', sa.Uuid(), nullable=False),
    sa.Column('owner_user_id', sa.Uuid(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'in_progress', 'done', 'not_done', name='actionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('status_reported_on', sa.Date(), nullable=True),
    sa.Column('not_done_reason', sa.Enum('circumstances_changed', 'agency_did_not_act', name='notdonereason', native_enum=False, length=30), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('description_enc', sa.LargeBinary(), nullable=False),
    sa.Column('completion_note_enc', sa.LargeBinary(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_safety_actions_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_safety_actions_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['owner_agency_id'], ['agencies.id'], name=op.f('fk_safety_actions_owner_agency_id_agencies')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_safety_actions_owner_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_actions'))
    )
    with op.batch_alter_table('safety_actions', schema=None) as batch_op:
        batch_op.create_index('ix_safety_actions_case_status', ['case_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_safety_actions_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index('ix_safety_actions_owner_agency_status_deadline', ['owner_agency_id', 'status', 'deadline'], unique=False)
        batch_op.create_index('ix_safety_actions_owner_user_status_deadline', ['owner_user_id', 'status', 'deadline'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('safety_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_safety_actions_owner_user_status_deadline')
        batch_op.drop_index('ix_safety_actions_owner_agency_status_deadline')
        batch_op.drop_index(batch_op.f('ix_safety_actions_meeting_id'))
        batch_op.drop_index('ix_safety_actions_case_status')

    op.drop_table('safety_actions')
    with op.batch_alter_table('minutes_distribution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_minutes_distribution_meeting_id'))

    op.drop_table('minutes_distribution')
    with op.batch_alter_table('meeting_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_invites_agency_id'))

    op.drop_table('meeting_invites')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_meeting_id'))

    op.drop_table('attendance')
    with op.batch_alter_table('agenda_items', schema=None) as batch_op:
        batch_op.drop_index('ix_agenda_items_meeting_position')
        batch_op.drop_index(batch_op.f('ix_agenda_items_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_agenda_items_case_id'))

    op.drop_table('agenda_items')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetings_starts_at'))
        batch_op.drop_index(batch_op.f('ix_meetings_series_id'))

    op.drop_table('meetings')
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_user_id'))

    op.drop_table('calendar_feeds')
