"""training evidence photos

Training evidence belongs to its training session (issue 10, item 10): its photo is marked
kind 'training', which the site-based /photos/<uuid> route never serves; the session's own
evidence route decides who sees it (the attendees, supervisors of their sites, managers).
Data only: no schema change.

Revision ID: b7e1c0a4d2f9
Revises: b7c1e0d4a9f2
Create Date: 2026-11-25 22:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7e1c0a4d2f9'
down_revision = 'b7c1e0d4a9f2'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE photo SET kind = 'training' WHERE id IN "
        "(SELECT evidence_photo_id FROM training_session WHERE evidence_photo_id IS NOT NULL)"
    )


def downgrade():
    op.execute("UPDATE photo SET kind = 'photo' WHERE kind = 'training'")
