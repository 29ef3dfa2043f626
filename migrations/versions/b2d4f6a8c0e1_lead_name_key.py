"""lead name key: lower(name) as a generated column, indexed (alone and after the status),
for the list's sort by name

Revision ID: b2d4f6a8c0e1
Revises: e7b3d9a1c5f2
Create Date: 2026-12-06 21:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b2d4f6a8c0e1'
down_revision = 'e7b3d9a1c5f2'
branch_labels = None
depends_on = None


def upgrade():
    # An added column, not a batch copy of `lead`: on SQLite a copy would drop the lead
    # search triggers (migration 9f3b6d2e8a41). SQLite adds it as a VIRTUAL column (computed
    # when read, kept in the index), PostgreSQL as STORED (rewrites the table once).
    stored = None if op.get_context().dialect.name == 'sqlite' else True
    key = sa.Computed('lower(name)', persisted=stored)
    op.add_column('lead', sa.Column('name_key', sa.String(120), key))
    op.create_index('ix_lead_name_key_id', 'lead', ['name_key', 'id'])
    # One status, by name: without it SQLite sorted every lead of the status (24,000 at 100k).
    op.create_index('ix_lead_status_name_key_id', 'lead', ['status', 'name_key', 'id'])


def downgrade():
    op.drop_index('ix_lead_status_name_key_id', table_name='lead')
    op.drop_index('ix_lead_name_key_id', table_name='lead')
    # ALTER TABLE DROP COLUMN on SQLite too (3.35 and later), again not a batch copy.
    op.drop_column('lead', 'name_key')
