"""the whole alarm procedure

Issue 13 item 3. An alarm response records its signal type and zone, the call-back to the
client (when, who answered, whether the call-back password matched), the findings on site,
the police notification 保全業法 §4-1 asks for (time, receiving unit, case number), 119 for a
fire, and the confirmed re-arming. The cause list becomes the trade's: intrusion, fire, other
public-safety event, user error (使用者操作不當), equipment fault, environment, unknown.

Existing causes are kept valid: "false_alarm" said nothing found without saying why, so it
becomes "unknown" (原因不明, still a false alarm); "equipment" becomes "equipment_fault".
Signal types of existing alarms stay empty (not recorded then). The downgrade maps back:
"equipment_fault" → "equipment", "user_error" → "false_alarm", fire and public-safety (real
events, which the old list knew only as intrusion) → "intrusion".

Revision ID: 3d8e6536a078
Revises: e7b3a1c9d5f2
Create Date: 2026-11-26 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d8e6536a078'
down_revision = 'e7b3a1c9d5f2'
branch_labels = None
depends_on = None

SIGNAL_TYPES = ("intrusion", "panic", "fire", "tamper", "power", "communication", "other")
CALLBACK_RESULTS = ("matched", "not_matched", "not_reached")
CAUSES = (
    "intrusion", "fire", "public_safety", "user_error", "equipment_fault", "environment", "unknown"
)
UP = {"false_alarm": "unknown", "equipment": "equipment_fault"}
DOWN = {
    "equipment_fault": "equipment",
    "user_error": "false_alarm",
    "fire": "intrusion",
    "public_safety": "intrusion",
}

alarm = sa.table("alarm_response", sa.column("cause", sa.String))


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _map(mapping) -> None:
    for old, new in mapping.items():
        op.execute(alarm.update().where(alarm.c.cause == old).values(cause=new))


def upgrade():
    with op.batch_alter_table('alarm_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signal_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('zone', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('callback_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('callback_answered_by', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('callback_result', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('findings', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('findings_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('police_notified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('police_unit', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('police_case_number', sa.String(length=50), server_default='', nullable=False))
        batch_op.add_column(sa.Column('fire_notified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rearmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rearmed_by', sa.String(length=100), server_default='', nullable=False))
    _map(UP)
    with op.batch_alter_table('alarm_response', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_alarm_response_signal_type'), f"signal_type IN {_in(SIGNAL_TYPES)}")
        batch_op.create_check_constraint(batch_op.f('ck_alarm_response_callback_result'), f"callback_result IN {_in(CALLBACK_RESULTS)}")
        batch_op.create_check_constraint(batch_op.f('ck_alarm_response_cause'), f"cause IN {_in(CAUSES)}")


def downgrade():
    with op.batch_alter_table('alarm_response', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_alarm_response_cause'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_alarm_response_callback_result'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_alarm_response_signal_type'), type_='check')
    _map(DOWN)
    with op.batch_alter_table('alarm_response', schema=None) as batch_op:
        batch_op.drop_column('rearmed_by')
        batch_op.drop_column('rearmed_at')
        batch_op.drop_column('fire_notified_at')
        batch_op.drop_column('police_case_number')
        batch_op.drop_column('police_unit')
        batch_op.drop_column('police_notified_at')
        batch_op.drop_column('findings_at')
        batch_op.drop_column('findings')
        batch_op.drop_column('callback_result')
        batch_op.drop_column('callback_answered_by')
        batch_op.drop_column('callback_at')
        batch_op.drop_column('zone')
        batch_op.drop_column('signal_type')
