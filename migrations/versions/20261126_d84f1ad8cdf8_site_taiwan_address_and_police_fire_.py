"""sites addressed the Taiwan way; their police and fire stations; client phones normalised

Issue 13, item 6: a site's address is postal code, city (直轄市/縣市), district, then the
street; the site card and the alarm page give the local police station (轄區派出所) and fire
station (消防分隊) with numbers to tap. The new columns are NOT NULL with an empty server
default, so existing sites keep their whole address in `address`, now the street field, and
simply have no postal code, city or district until someone fills them in.

Phone numbers are stored normalised (app.phones: digits, "#" and an extension): a client's
main phone typed before is rewritten when it reads as a Taiwan number, and left as it was
otherwise (the pages show such text unchanged). The downgrade folds postal code, city and
district back into the address so no part of an address is lost; phone numbers stay in the
stored form, which the old pages show as digits.

Revision ID: d84f1ad8cdf8
Revises: 62224f608ed3
Create Date: 2026-11-26 07:05:51.888463

"""
from alembic import op
import sqlalchemy as sa

from app import phones


# revision identifiers, used by Alembic.
revision = 'd84f1ad8cdf8'
down_revision = "62224f608ed3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('postal_code', sa.String(length=6), server_default='', nullable=False))
        batch_op.add_column(sa.Column('city', sa.String(length=10), server_default='', nullable=False))
        batch_op.add_column(sa.Column('district', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('police_station', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('police_phone', sa.String(length=20), server_default='', nullable=False))
        batch_op.add_column(sa.Column('fire_station', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('fire_phone', sa.String(length=20), server_default='', nullable=False))

    client = sa.table("client", sa.column("id", sa.Integer), sa.column("main_phone", sa.String))
    bind = op.get_bind()
    for row_id, typed in bind.execute(sa.select(client.c.id, client.c.main_phone)).all():
        try:
            stored = phones.normalise(typed)
        except phones.PhoneError:
            continue  # not a number: kept as typed, shown as it is
        if stored != typed:
            bind.execute(client.update().where(client.c.id == row_id).values(main_phone=stored))


def downgrade():
    site = sa.table(
        "site",
        sa.column("postal_code", sa.String), sa.column("city", sa.String),
        sa.column("district", sa.String), sa.column("address", sa.String),
    )
    place = site.c.city + site.c.district + site.c.address
    op.execute(
        site.update()
        .where((site.c.postal_code != "") | (site.c.city != "") | (site.c.district != ""))
        .values(
            address=sa.func.substr(
                sa.case((site.c.postal_code != "", site.c.postal_code + " " + place), else_=place),
                1,
                300,
            )
        )
    )
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('fire_phone')
        batch_op.drop_column('fire_station')
        batch_op.drop_column('police_phone')
        batch_op.drop_column('police_station')
        batch_op.drop_column('district')
        batch_op.drop_column('city')
        batch_op.drop_column('postal_code')
