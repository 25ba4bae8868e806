"""control-record sheets (管控紀錄表): one row per version of a month's sheet

Issue 14 items 1-3: a site's (or a client's) month is summarised on a sheet that the
supervisor prepares, the manager approves (the figures are then frozen as a JSON snapshot in
the row, so later records do not change what was approved), releases to the client, and the
client signs for. A correction is a new row (version + 1, previous_id, the reason), never an
edit of the frozen one. `subject` ("site:12", "client:3") with month and version is unique,
so preparing the same month twice makes one sheet. A new table: no data to transform.

Revision ID: a7c3e9f1b2d4
Revises: c86841ccd2e3
Create Date: 2026-11-26 10:20:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a7c3e9f1b2d4"
down_revision = "c86841ccd2e3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "control_record_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=30), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=False),
        sa.Column("return_comment", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("prepared_by_id", sa.Integer(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_by_id", sa.Integer(), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scope IN ('site', 'client')", name=op.f("ck_control_record_sheet_scope")
        ),
        sa.CheckConstraint(
            "status IN ('prepared', 'returned', 'approved', 'released', 'acknowledged', 'superseded')",
            name=op.f("ck_control_record_sheet_status"),
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["user.id"],
            name=op.f("fk_control_record_sheet_acknowledged_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["user.id"],
            name=op.f("fk_control_record_sheet_approved_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_control_record_sheet_client_id_client"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prepared_by_id"],
            ["user.id"],
            name=op.f("fk_control_record_sheet_prepared_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["control_record_sheet.id"],
            name=op.f("fk_control_record_sheet_previous_id_control_record_sheet"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["user.id"],
            name=op.f("fk_control_record_sheet_released_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["returned_by_id"],
            ["user.id"],
            name=op.f("fk_control_record_sheet_returned_by_id_user"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["site.id"],
            name=op.f("fk_control_record_sheet_site_id_site"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_record_sheet")),
        sa.UniqueConstraint(
            "subject", "month", "version", name=op.f("uq_control_record_sheet_subject")
        ),
    )
    op.create_index(
        "ix_control_record_sheet_client_id_month",
        "control_record_sheet",
        ["client_id", "month"],
        unique=False,
    )
    op.create_index(
        op.f("ix_control_record_sheet_site_id"), "control_record_sheet", ["site_id"], unique=False
    )
    op.create_index(
        op.f("ix_control_record_sheet_status"), "control_record_sheet", ["status"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_control_record_sheet_status"), table_name="control_record_sheet")
    op.drop_index(op.f("ix_control_record_sheet_site_id"), table_name="control_record_sheet")
    op.drop_index("ix_control_record_sheet_client_id_month", table_name="control_record_sheet")
    op.drop_table("control_record_sheet")
