"""checklist item input limits

A number item gets the range of readings that can be typed at all (input_min, input_max),
separate from its passing range: −99999 V or 1e308 V for a 12 V battery is a typing error to
refuse, not a failure to score (issue 10, item 14). The default checklist's battery voltage
(a 12 V lead-acid battery, passing 10.5–14.5 V) takes 0–30 V, in every version of it; any
other number item takes a range around its passing range, which an administrator can edit.

Revision ID: b7e41c2d9a50
Revises: 43d3e48af75f
Create Date: 2026-11-25 22:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e41c2d9a50'
down_revision = '43d3e48af75f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('input_min', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('input_max', sa.Double(), nullable=True))

    item = sa.table(
        "checklist_item",
        sa.column("id", sa.Integer), sa.column("template_id", sa.Integer),
        sa.column("kind", sa.String), sa.column("unit", sa.String),
        sa.column("min_value", sa.Float), sa.column("max_value", sa.Float),
        sa.column("input_min", sa.Float), sa.column("input_max", sa.Float),
    )
    template = sa.table("checklist_template", sa.column("id", sa.Integer), sa.column("key", sa.String))
    default_ids = sa.select(template.c.id).where(template.c.key == "default").scalar_subquery()
    op.execute(
        item.update()
        .where(item.c.kind == "number", item.c.unit == "V", item.c.template_id.in_(default_ids))
        .values(input_min=0.0, input_max=30.0)
    )
    # Any other number item: from 0 (or ten times below a negative lower bound) to ten times
    # its upper bound, enough for a real reading and short of the absurd.
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(item.c.id, item.c.min_value, item.c.max_value).where(
            item.c.kind == "number", item.c.input_min.is_(None)
        )
    ).all()
    for row_id, low, high in rows:
        scale = max(abs(low or 0.0), abs(high or 0.0), 1.0) * 10
        bind.execute(
            item.update()
            .where(item.c.id == row_id)
            .values(input_min=0.0 if (low is None or low >= 0) else -scale, input_max=scale)
        )


def downgrade():
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_column('input_max')
        batch_op.drop_column('input_min')
