"""sessions ended at: signing out ends every session of the account

Revision ID: f1a4c8e2d7b3
Revises: d5e2b7c4a918
Create Date: 2026-11-30 02:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1a4c8e2d7b3'
down_revision = 'd5e2b7c4a918'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sessions_ended_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('sessions_ended_at')
