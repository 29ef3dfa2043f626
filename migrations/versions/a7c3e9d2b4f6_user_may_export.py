"""user may export: admins let a named staff account download lead exports

Revision ID: a7c3e9d2b4f6
Revises: f1a4c8e2d7b3
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d2b4f6'
down_revision = 'f1a4c8e2d7b3'
branch_labels = None
depends_on = None


def upgrade():
    # The server default gives existing accounts False: exports stay admin-only until granted.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('may_export', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('may_export')
