"""vault access log and step-up

The vault's access log (issue 12 item 6): every list, reveal, create, change, delete, export,
purge and key-custody action on confidential records, with purpose and outcome and the
audit-chain row written with it; never the value. And the step-up of a login (item 5):
when, and how, the session last proved its user again.

Revision ID: 1e3fedd6f58a
Revises: 80f80e7a7982
Create Date: 2026-11-26 05:49:14.136200

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1e3fedd6f58a'
down_revision = '80f80e7a7982'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('vault_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('record_uuid', sa.String(length=36), nullable=False),
    sa.Column('record_label', sa.String(length=200), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('purpose_text', sa.String(length=500), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.CheckConstraint("action IN ('list', 'reveal', 'create', 'change', 'delete', 'export', 'purge', 'custody')", name=op.f('ck_vault_access_action')),
    sa.CheckConstraint("outcome IN ('success', 'denied', 'error')", name=op.f('ck_vault_access_outcome')),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_vault_access_client_id_client'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['record_id'], ['confidential_record.id'], name=op.f('fk_vault_access_record_id_confidential_record'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_vault_access_site_id_site'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_vault_access_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_access'))
    )
    with op.batch_alter_table('vault_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vault_access_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_vault_access_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vault_access_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vault_access_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vault_access_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stepped_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('stepped_up_by', sa.String(length=20), nullable=False, server_default=''))



def downgrade():
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('stepped_up_by')
        batch_op.drop_column('stepped_up_at')

    with op.batch_alter_table('vault_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vault_access_user_id'))
        batch_op.drop_index(batch_op.f('ix_vault_access_site_id'))
        batch_op.drop_index(batch_op.f('ix_vault_access_record_id'))
        batch_op.drop_index(batch_op.f('ix_vault_access_client_id'))
        batch_op.drop_index(batch_op.f('ix_vault_access_at'))

    op.drop_table('vault_access')
