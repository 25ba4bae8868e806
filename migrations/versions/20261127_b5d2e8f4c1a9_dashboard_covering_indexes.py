"""indexes for the dashboard over a year

The manager's dashboard over 500 sites and 12 months (issue 14 item 7) read every
inspection, alarm response and incident of the year row by row for a column or two beside
the indexed ones, and every answer of the failing inspections for the few failed ones. The
site-and-time indexes now carry those columns (so the figures read the index alone), and a
partial index holds only the failed answers (3 % of them). Each wider index replaces the
narrower one it starts with.

Revision ID: b5d2e8f4c1a9
Revises: f3d5b7a9c1e2
Create Date: 2026-11-26 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d2e8f4c1a9'
down_revision = 'f3d5b7a9c1e2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_site_id_submitted_at')
        batch_op.create_index(
            'ix_inspection_site_submitted_figures',
            ['site_id', 'submitted_at', 'status', 'score', 'failed_count'],
            unique=False,
        )

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(
            'ix_answer_failed',
            ['inspection_id', 'item_id'],
            unique=False,
            sqlite_where=sa.text('is_pass IS 0'),
            postgresql_where=sa.text('is_pass IS false'),
        )

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_site_id_occurred_at')
        batch_op.create_index(
            'ix_incident_site_occurred_category',
            ['site_id', 'occurred_at', 'category'],
            unique=False,
        )

    with op.batch_alter_table('alarm_response', schema=None) as batch_op:
        batch_op.drop_index('ix_alarm_response_site_id_received_at')
        batch_op.create_index(
            'ix_alarm_response_site_received_figures',
            ['site_id', 'received_at', 'arrived_at', 'cleared_at', 'cause'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('alarm_response', schema=None) as batch_op:
        batch_op.drop_index('ix_alarm_response_site_received_figures')
        batch_op.create_index(
            'ix_alarm_response_site_id_received_at', ['site_id', 'received_at'], unique=False
        )

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_site_occurred_category')
        batch_op.create_index(
            'ix_incident_site_id_occurred_at', ['site_id', 'occurred_at'], unique=False
        )

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_failed')

    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_site_submitted_figures')
        batch_op.create_index(
            'ix_inspection_site_id_submitted_at', ['site_id', 'submitted_at'], unique=False
        )
