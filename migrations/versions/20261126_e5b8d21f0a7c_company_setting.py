"""company setting: the company's name and the calendar of printed dates

Issue 13 item 7: Taiwan's official papers write dates in the ROC calendar (民國 115 年 11 月
25 日), and a security company may want its printed inspection reports and sheets to do the
same; others keep Gregorian dates. That is the company's choice, made once by the
administrator, so it lives in a single-row table (a check constraint keeps it to id 1) with
the company's name, printed at the head of reports. The upgrade writes that one row with
Gregorian dates and no name, so nothing printed changes until the administrator chooses.

Revision ID: e5b8d21f0a7c
Revises: c4a9e2f7b1d3
Create Date: 2026-11-26 09:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b8d21f0a7c'
down_revision = 'c4a9e2f7b1d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('company_setting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('date_calendar', sa.String(length=10), server_default='gregorian', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("date_calendar IN ('gregorian', 'roc')", name=op.f('ck_company_setting_date_calendar')),
    sa.CheckConstraint('id = 1', name=op.f('ck_company_setting_single_row')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_company_setting_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_setting'))
    )
    setting = sa.table('company_setting', sa.column('id', sa.Integer))
    op.bulk_insert(setting, [{'id': 1}])


def downgrade():
    op.drop_table('company_setting')
