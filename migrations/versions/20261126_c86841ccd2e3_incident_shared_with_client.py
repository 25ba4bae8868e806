"""incident shared with the client

Issue 14 item 4 (the client portal). A manager shares an incident with the client: the client
reads, for his own sites, a summary written for him (date, category, severity, the summary,
status) and never the internal narrative, which may name people (個人資料保護法: need to know).
`shared_with_client_at` (None: not shared) and `shared_by_id` say since when and by whom;
`client_summary` is the text the client reads, kept when unshared so a re-share starts from it.

Existing incidents start unshared with an empty summary (the server default): nothing reaches a
client until somebody decides it should.

Revision ID: c86841ccd2e3
Revises: b4f1c7a2e903
Create Date: 2026-11-26 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c86841ccd2e3'
down_revision = 'b4f1c7a2e903'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shared_with_client_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('shared_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('client_summary', sa.Text(), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_incident_shared_by_id_user'), 'user', ['shared_by_id'], ['id'], ondelete='RESTRICT')


def downgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incident_shared_by_id_user'), type_='foreignkey')
        batch_op.drop_column('client_summary')
        batch_op.drop_column('shared_by_id')
        batch_op.drop_column('shared_with_client_at')
