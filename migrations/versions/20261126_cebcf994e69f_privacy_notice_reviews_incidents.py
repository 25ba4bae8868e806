"""privacy: notice acknowledgements, permission reviews, personal-data incidents

Issue 12 items 7 and 9. 個人資料保護法 §8 asks that staff be told what the app records about
them: each acknowledgement of the collection notice (user, version, when, from where) is kept.
施行細則 §12 asks for a periodic review of who may access confidential information (one row
per review of a site) and an incident procedure (the register, one row per incident with each
step recorded or marked not applicable with a reason).

Revision ID: cebcf994e69f
Revises: 0e0aaf6c1b5f
Create Date: 2026-11-26 05:58:17.097103

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cebcf994e69f'
down_revision = '0e0aaf6c1b5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notice_acknowledgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False, server_default=''),
    sa.Column('user_agent', sa.String(length=255), nullable=False, server_default=''),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notice_acknowledgement_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_acknowledgement')),
    sa.UniqueConstraint('user_id', 'version', name=op.f('uq_notice_acknowledgement_user_id'))
    )
    with op.batch_alter_table('notice_acknowledgement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_acknowledgement_user_id'), ['user_id'], unique=False)

    op.create_table('permission_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('reviewer_name', sa.String(length=120), nullable=False, server_default=''),
    sa.Column('people_count', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('note', sa.String(length=1000), nullable=False, server_default=''),
    sa.ForeignKeyConstraint(['reviewer_id'], ['user.id'], name=op.f('fk_permission_review_reviewer_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_permission_review_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permission_review'))
    )
    with op.batch_alter_table('permission_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permission_review_reviewed_at'), ['reviewed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_permission_review_site_id'), ['site_id'], unique=False)

    op.create_table('privacy_incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('discovered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False, server_default=''),
    sa.Column('data_categories', sa.Text(), nullable=False, server_default=''),
    sa.Column('subjects_count', sa.Integer(), nullable=True),
    sa.Column('containment', sa.Text(), nullable=False, server_default=''),
    sa.Column('cause', sa.Text(), nullable=False, server_default=''),
    sa.Column('subjects_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('subjects_notice', sa.Text(), nullable=False, server_default=''),
    sa.Column('authority_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('authority', sa.String(length=300), nullable=False, server_default=''),
    sa.Column('improvements', sa.Text(), nullable=False, server_default=''),
    sa.Column('scope_na_reason', sa.String(length=500), nullable=False, server_default=''),
    sa.Column('containment_na_reason', sa.String(length=500), nullable=False, server_default=''),
    sa.Column('cause_na_reason', sa.String(length=500), nullable=False, server_default=''),
    sa.Column('subjects_notified_na_reason', sa.String(length=500), nullable=False, server_default=''),
    sa.Column('authority_notified_na_reason', sa.String(length=500), nullable=False, server_default=''),
    sa.Column('improvements_na_reason', sa.String(length=500), nullable=False, server_default=''),
    sa.Column('status', sa.String(length=10), nullable=False, server_default='open'),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_privacy_incident_status')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user.id'], name=op.f('fk_privacy_incident_closed_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_privacy_incident_created_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_incident')),
    sa.UniqueConstraint('uuid', name=op.f('uq_privacy_incident_uuid'))
    )
    with op.batch_alter_table('privacy_incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_incident_discovered_at'), ['discovered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_incident_status'), ['status'], unique=False)



def downgrade():
    with op.batch_alter_table('privacy_incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_incident_status'))
        batch_op.drop_index(batch_op.f('ix_privacy_incident_discovered_at'))

    op.drop_table('privacy_incident')
    with op.batch_alter_table('permission_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permission_review_site_id'))
        batch_op.drop_index(batch_op.f('ix_permission_review_reviewed_at'))

    op.drop_table('permission_review')
    with op.batch_alter_table('notice_acknowledgement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_acknowledgement_user_id'))

    op.drop_table('notice_acknowledgement')
