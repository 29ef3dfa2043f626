"""visit counts: cookie-free counts per day, page, source and campaign; the day's salt

Revision ID: a7d3e9f1c2b8
Revises: e3b5d7f9a1c2
Create Date: 2026-12-04 18:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d3e9f1c2b8'
down_revision = 'e3b5d7f9a1c2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'visit_count',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('path', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=100), nullable=False),
        sa.Column('campaign', sa.String(length=100), nullable=False),
        sa.Column('views', sa.Integer(), nullable=False),
        sa.Column('visitors', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('view', 'site', 'form')", name=op.f('ck_visit_count_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_count')),
        sa.UniqueConstraint('day', 'kind', 'path', 'source', 'campaign', name='uq_visit_count_key'),
    )
    with op.batch_alter_table('visit_count', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_count_day'), ['day'], unique=False)
    op.create_table(
        'visit_salt',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('salt', sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_visit_salt')),
    )
    op.create_table(
        'visit_seen',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('hash', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('day', 'hash', name=op.f('pk_visit_seen')),
    )


def downgrade():
    op.drop_table('visit_seen')
    op.drop_table('visit_salt')
    with op.batch_alter_table('visit_count', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_count_day'))
    op.drop_table('visit_count')
