"""access log checkpoints, search indexes, sharing records and purges

Revision ID: 4a3f529a21c8
Revises: 8e44684affe6
Created: 2026-11-23 22:47:05.990643
"""

from alembic import op
import sqlalchemy as sa


revision = '4a3f529a21c8'
down_revision = '8e44684affe6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoints',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('entry_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_checkpoints'))
    )
    op.create_table('case_purges',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('status_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_purges_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_purges'))
    )
    op.create_table('sharing_records',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('decision', sa.Enum('shared', 'not_shared', name='sharingdecision', native_enum=False, length=30), nullable=False),
    sa.Column('with_agency_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('legal_basis', sa.String(length=40), nullable=True),
    sa.Column('consent', sa.Enum('given', 'refused', 'not_sought_unsafe', 'not_sought_other', name='sharingconsent', native_enum=False, length=30), nullable=False),
    sa.Column('survivor_side', sa.Boolean(), nullable=False),
    sa.Column('information_enc', sa.LargeBinary(), nullable=True),
    sa.Column('reason_enc', sa.LargeBinary(), nullable=True),
    sa.Column('survivor_information_enc', sa.LargeBinary(), nullable=True),
    sa.Column('survivor_reason_enc', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_sharing_records_agency_id_agencies')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_sharing_records_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_sharing_records_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['with_agency_id'], ['agencies.id'], name=op.f('fk_sharing_records_with_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_records'))
    )
    with op.batch_alter_table('sharing_records', schema=None) as batch_op:
        batch_op.create_index('ix_sharing_records_case_recorded', ['case_id', 'recorded_at'], unique=False)
        batch_op.create_index('ix_sharing_records_recorded_at', ['recorded_at'], unique=False)

    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_action_seq', ['action', 'seq'], unique=False)
        batch_op.create_index('ix_access_log_agency_seq', ['agency_id', 'seq'], unique=False)
        batch_op.create_index('ix_access_log_outcome_seq', ['outcome', 'seq'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # Signed checkpoints are as append-only as the entries they pin.
        op.execute(
            "CREATE FUNCTION riskhub_audit_checkpoints_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_checkpoints is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints "
            "FOR EACH ROW EXECUTE FUNCTION riskhub_audit_checkpoints_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoints_append_only ON audit_checkpoints")
        op.execute("DROP FUNCTION IF EXISTS riskhub_audit_checkpoints_append_only()")
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_outcome_seq')
        batch_op.drop_index('ix_access_log_agency_seq')
        batch_op.drop_index('ix_access_log_action_seq')

    with op.batch_alter_table('sharing_records', schema=None) as batch_op:
        batch_op.drop_index('ix_sharing_records_recorded_at')
        batch_op.drop_index('ix_sharing_records_case_recorded')

    op.drop_table('sharing_records')
    op.drop_table('case_purges')
    op.drop_table('audit_checkpoints')
