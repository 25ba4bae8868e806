"""Web Push: devices, topics, the push outbox

Issue 13 item 8 ("dispatch reaches the phone"). A user's devices that receive Web Push
(`push_subscription`: the browser's endpoint and keys), the topics he turned off
(`push_preference`: no row means on, so nobody needs a row to get the default), and the push
outbox (`push_delivery`: one notification to one device, written with the notification and
sent by the jobs runner with claims and retries like the e-mail outbox). New tables only: no
data is transformed.

Revision ID: e7b3a1c9d5f2
Revises: a7e3d9c1f5b2
Create Date: 2026-11-26 08:56:25.532206

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7b3a1c9d5f2'
down_revision = 'a7e3d9c1f5b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('push_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('is_on', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_push_preference_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'topic', name=op.f('pk_push_preference'))
    )
    op.create_table('push_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=1000), nullable=False),
    sa.Column('p256dh', sa.String(length=100), nullable=False),
    sa.Column('auth', sa.String(length=40), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_push_subscription_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscription')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscription_endpoint'))
    )
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_subscription_user_id'), ['user_id'], unique=False)

    op.create_table('push_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_push_delivery_notification_id_notification'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['push_subscription.id'], name=op.f('fk_push_delivery_subscription_id_push_subscription'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_delivery')),
    sa.UniqueConstraint('subscription_id', 'notification_id', name=op.f('uq_push_delivery_subscription_id'))
    )
    with op.batch_alter_table('push_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_delivery_notification_id'), ['notification_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_delivery_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_delivery_subscription_id'), ['subscription_id'], unique=False)



def downgrade():
    with op.batch_alter_table('push_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_delivery_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_push_delivery_sent_at'))
        batch_op.drop_index(batch_op.f('ix_push_delivery_notification_id'))

    op.drop_table('push_delivery')
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_subscription_user_id'))

    op.drop_table('push_subscription')
    op.drop_table('push_preference')
