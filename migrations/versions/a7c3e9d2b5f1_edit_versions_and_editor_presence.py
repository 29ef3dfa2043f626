"""edit versions and editor presence

A save counter on each editable item (of two saves from one version, the second is
refused), and who opened which item's editor lately.

Revision ID: a7c3e9d2b5f1
Revises: a7c3e9d2b4f6
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d2b5f1'
down_revision = 'a7c3e9d2b4f6'
branch_labels = None
depends_on = None

VERSIONED = ('article', 'page', 'clinic', 'person', 'redirect', 'image')


def upgrade():
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('version', sa.Integer(), server_default='1', nullable=False)
            )

    op.create_table(
        'editor_presence',
        sa.Column('content_type', sa.String(length=12), nullable=False),
        sa.Column('content_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('user_email', sa.String(length=254), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('content_type', 'content_id', 'user_id', name=op.f('pk_editor_presence')),
    )
    with op.batch_alter_table('editor_presence', schema=None) as batch_op:
        batch_op.create_index('ix_editor_presence_opened_at', ['opened_at'], unique=False)


def downgrade():
    with op.batch_alter_table('editor_presence', schema=None) as batch_op:
        batch_op.drop_index('ix_editor_presence_opened_at')
    op.drop_table('editor_presence')

    for table in reversed(VERSIONED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
