"""device requests: every object a phone creates is unique by its device uuid

The ledger of requests the offline outbox sent under a device uuid (header X-Object-UUID):
the hash of what each meant and the answer it got, so that a resend is answered as a replay
and a different body under the same uuid is refused (issue 11, item 4). Answers also keep
the device time they were given at, so that a late-arriving older answer never overwrites a
newer one.

Revision ID: d1e7a0c3b5f8
Revises: b7e1c0a4d2f9
Create Date: 2026-11-25 23:40:00

"""
from alembic import op
import sqlalchemy as sa




# revision identifiers, used by Alembic.
revision = 'd1e7a0c3b5f8'
down_revision = 'b7e1c0a4d2f9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'device_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('path', sa.String(length=300), nullable=False),
        sa.Column('body_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=True),
        sa.Column('location', sa.String(length=500), nullable=True),
        sa.Column('response', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_device_request')),
        sa.UniqueConstraint('uuid', name=op.f('uq_device_request_uuid')),
    )
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('answered_at_device', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_column('answered_at_device')
    op.drop_table('device_request')
