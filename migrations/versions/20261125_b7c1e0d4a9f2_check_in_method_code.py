"""check-in method "code" instead of "manual"

The server now decides how a check-in was made from the route it came through: "qr" only
through the label's URL /s/<token>, "code" when the site code was typed (issue 10, item 4).
Existing "manual" rows were typed codes and become "code".

Revision ID: b7c1e0d4a9f2
Revises: b7e41c2d9a50
Create Date: 2026-11-25 22:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7c1e0d4a9f2'
down_revision = 'b7e41c2d9a50'
branch_labels = None
depends_on = None


def _swap(old: str, new: str) -> None:
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_check_in_method'), type_='check')
    op.execute(f"UPDATE check_in SET method = '{new}' WHERE method = '{old}'")
    with op.batch_alter_table('check_in', schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f('ck_check_in_method'), f"method IN ('qr', '{new}')"
        )


def upgrade():
    _swap('manual', 'code')


def downgrade():
    _swap('code', 'manual')
