"""bank holidays a clinic opens on (every clinic is closed on the others)

Revision ID: e3b5d7f9a1c2
Revises: e7f3a1c9d2b5
Create Date: 2026-12-04 18:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3b5d7f9a1c2'
down_revision = 'e7f3a1c9d2b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'holiday_opening',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ['clinic_id'], ['clinic.id'],
            name=op.f('fk_holiday_opening_clinic_id_clinic'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_holiday_opening')),
        sa.UniqueConstraint('clinic_id', 'day', name=op.f('uq_holiday_opening_clinic_id')),
    )


def downgrade():
    op.drop_table('holiday_opening')
