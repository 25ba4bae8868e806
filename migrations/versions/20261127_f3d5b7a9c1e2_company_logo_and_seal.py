"""company logo and seal: uploaded images, printed on control-record sheets

Issue 14 item 1 asks for the company's name, logo and seal to be configurable on the sheet.
The administrator uploads a logo and a seal (公司章); each upload is re-encoded and stored
under the upload folder, and described by a row of the new `company_image` table that is
never changed afterwards. `company_setting` names the current logo and seal (null: none
printed). A sheet freezes the logo and seal it was approved with
(`control_record_sheet.logo_image_id`, `seal_image_id`), as it freezes its figures, so a later
upload changes no approved sheet. All new columns are nullable: existing rows print no logo
and no seal, as before.

Revision ID: f3d5b7a9c1e2
Revises: a7c3e9f1b2d4
Create Date: 2026-11-27 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "f3d5b7a9c1e2"
down_revision = "a7c3e9f1b2d4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "company_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('logo', 'seal')", name=op.f("ck_company_image_kind")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_company_image_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_image")),
    )
    with op.batch_alter_table("company_setting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logo_image_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("seal_image_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_company_setting_logo_image_id_company_image"),
            "company_image",
            ["logo_image_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_company_setting_seal_image_id_company_image"),
            "company_image",
            ["seal_image_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    with op.batch_alter_table("control_record_sheet", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logo_image_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("seal_image_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_control_record_sheet_logo_image_id_company_image"),
            "company_image",
            ["logo_image_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_control_record_sheet_seal_image_id_company_image"),
            "company_image",
            ["seal_image_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade():
    with op.batch_alter_table("control_record_sheet", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_control_record_sheet_seal_image_id_company_image"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_control_record_sheet_logo_image_id_company_image"), type_="foreignkey"
        )
        batch_op.drop_column("seal_image_id")
        batch_op.drop_column("logo_image_id")
    with op.batch_alter_table("company_setting", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_company_setting_seal_image_id_company_image"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_company_setting_logo_image_id_company_image"), type_="foreignkey"
        )
        batch_op.drop_column("seal_image_id")
        batch_op.drop_column("logo_image_id")
    op.drop_table("company_image")
