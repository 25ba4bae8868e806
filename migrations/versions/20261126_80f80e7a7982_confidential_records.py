"""confidential records: the vault's encrypted values

Secrets of a client or one of its sites (issue 12, items 1 and 3): alarm codes, the call-back
password, key holders, access instructions, client personnel data. The value is only ever
stored encrypted (AES-256-GCM, app/vault/crypto.py); key_id names the DATA_KEYS entry it is
under, in clear, for `flask keys rotate` and the start-up check. A record belongs to exactly
one of a site or a client.

Revision ID: 80f80e7a7982
Revises: d1e7a0c3b5f8
Create Date: 2026-11-26 03:45:11

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '80f80e7a7982'
down_revision = 'd1e7a0c3b5f8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'confidential_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('client_id', sa.Integer(), nullable=True),
        sa.Column('category', sa.String(length=30), nullable=False),
        sa.Column('sensitivity', sa.String(length=12), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('value_ciphertext', sa.Text(), nullable=False),
        sa.Column('key_id', sa.String(length=32), nullable=False),
        sa.Column('retain_until', sa.Date(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category IN ('alarm_code', 'callback_password', 'key_holder', "
            "'access_instructions', 'client_personnel', 'other')",
            name=op.f('ck_confidential_record_category'),
        ),
        sa.CheckConstraint(
            "sensitivity IN ('operational', 'restricted')",
            name=op.f('ck_confidential_record_sensitivity'),
        ),
        sa.CheckConstraint(
            '(site_id IS NULL) <> (client_id IS NULL)',
            name=op.f('ck_confidential_record_one_owner'),
        ),
        sa.ForeignKeyConstraint(
            ['client_id'], ['client.id'],
            name=op.f('fk_confidential_record_client_id_client'), ondelete='RESTRICT',
        ),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['user.id'],
            name=op.f('fk_confidential_record_created_by_id_user'), ondelete='RESTRICT',
        ),
        sa.ForeignKeyConstraint(
            ['site_id'], ['site.id'],
            name=op.f('fk_confidential_record_site_id_site'), ondelete='RESTRICT',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_confidential_record')),
        sa.UniqueConstraint('uuid', name=op.f('uq_confidential_record_uuid')),
    )
    with op.batch_alter_table('confidential_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_confidential_record_client_id'), ['client_id'])
        batch_op.create_index(batch_op.f('ix_confidential_record_key_id'), ['key_id'])
        batch_op.create_index(batch_op.f('ix_confidential_record_site_id'), ['site_id'])


def downgrade():
    op.drop_table('confidential_record')
