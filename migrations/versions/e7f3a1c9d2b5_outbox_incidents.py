"""outbox incidents: stalled e-mail, opened and closed by the worker, one alert each

Revision ID: e7f3a1c9d2b5
Revises: c4e8f2a6b1d9
Create Date: 2026-12-04 18:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7f3a1c9d2b5'
down_revision = 'c4e8f2a6b1d9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox_incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('open_flag', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('alert_next_try', sa.DateTime(timezone=True), nullable=False),
        sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('alerted_to', sa.Text(), nullable=True),
        sa.Column('alert_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_incident')),
        sa.UniqueConstraint('open_flag', name=op.f('uq_outbox_incident_open_flag')),
    )


def downgrade():
    op.drop_table('outbox_incident')
