"""an incident's police notification names the unit and the case number; a fire's 119 call

Issue 13 item 3, for incidents (alarms have these since 3d8e6536a078): 保全業法 §4-1 sends
theft, robbery, fire and other public-safety events to the police, and a police notification
is recorded as its time, the receiving unit (受理單位) and the case number (案號) — clients and
insurers ask for the case number; a time alone does not identify the report. A fire is also
reported to 119, whose time is recorded too.

Incidents recorded before keep their time; their unit and case number stay empty (not
recorded then; a case number can be added later on the incident's page).

Revision ID: b4f1c7a2e903
Revises: 3d8e6536a078
Create Date: 2026-11-26 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4f1c7a2e903'
down_revision = '3d8e6536a078'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('police_unit', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('police_case_number', sa.String(length=50), server_default='', nullable=False))
        batch_op.add_column(sa.Column('fire_notified_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('fire_notified_at')
        batch_op.drop_column('police_case_number')
        batch_op.drop_column('police_unit')
