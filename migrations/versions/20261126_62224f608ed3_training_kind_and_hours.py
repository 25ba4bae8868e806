"""training ledger: kind, decimal hours, 施行細則 §8 topics

保全業法 §10-2 asks for pre-employment training (at least a week) and on-the-job training (at
least 4 hours a month per guard); 施行細則 §8 names the topics 法令常識、執行技巧、防盜、防搶、
防火、防災. So a training session gets a kind (on_the_job or pre_employment; existing sessions
are on-the-job, the server default), its hours become a decimal (numeric(5,2), more than 0;
every existing session already has its duration, which is kept) and its topic may be one of
the rules' topics beside K13/K14/K15 (防火 is the existing fire_safety). On downgrade the new
topics become 'other' and the kind is dropped.

Revision ID: 62224f608ed3
Revises: d8c2c14e9e24
Create Date: 2026-11-26 07:02:39.820851

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "62224f608ed3"
down_revision = "d8c2c14e9e24"
branch_labels = None
depends_on = None

OLD_TOPICS = "'first_aid', 'fire_safety', 'personal_data', 'on_the_job', 'other'"
NEW_TOPICS = (
    "'first_aid', 'fire_safety', 'personal_data', 'law', 'technique',"
    " 'anti_theft', 'anti_robbery', 'disaster', 'on_the_job', 'other'"
)


def upgrade():
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_training_session_topic"), type_="check")
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="on_the_job", nullable=False)
        )
        batch_op.alter_column(
            "hours",
            existing_type=sa.Double(),
            type_=sa.Numeric(precision=5, scale=2, asdecimal=False),
            existing_nullable=False,
            postgresql_using="round(hours::numeric, 2)",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_training_session_topic"), f"topic IN ({NEW_TOPICS})"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_training_session_kind"), "kind IN ('on_the_job', 'pre_employment')"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_training_session_hours_positive"), "hours > 0"
        )


def downgrade():
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_training_session_hours_positive"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_training_session_kind"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_training_session_topic"), type_="check")
    op.execute(f"UPDATE training_session SET topic = 'other' WHERE topic NOT IN ({OLD_TOPICS})")
    with op.batch_alter_table("training_session", schema=None) as batch_op:
        batch_op.alter_column(
            "hours",
            existing_type=sa.Numeric(precision=5, scale=2, asdecimal=False),
            type_=sa.Double(),
            existing_nullable=False,
        )
        batch_op.drop_column("kind")
        batch_op.create_check_constraint(
            batch_op.f("ck_training_session_topic"), f"topic IN ({OLD_TOPICS})"
        )
