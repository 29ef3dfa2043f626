"""admin query indexes: the timeline line of each booking, the e-mail log in time order,
leads by clinic, confirmed calls by time, the audit log by action, leads by status, source
or article in time order

Revision ID: e7b3d9a1c5f2
Revises: e7b3c1d9a2f4
Create Date: 2026-12-04 18:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7b3d9a1c5f2'
down_revision = 'e7b3c1d9a2f4'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_lead_event_booking_id', 'lead_event', ['booking_id']),
    ('ix_outbox_message_created_at_id', 'outbox_message', ['created_at', 'id']),
    ('ix_outbox_message_status_created_at_id', 'outbox_message', ['status', 'created_at', 'id']),
    ('ix_booking_clinic_id_lead_id', 'booking', ['clinic_id', 'lead_id']),
    ('ix_booking_status_starts_at', 'booking', ['status', 'starts_at']),
    ('ix_audit_entry_action_id', 'audit_entry', ['action', 'id']),
    ('ix_lead_status_created_at_id', 'lead', ['status', 'created_at', 'id']),
    ('ix_lead_utm_source_created_at_id_status', 'lead', ['utm_source', 'created_at', 'id', 'status']),
    (
        'ix_lead_source_article_created_at_id_status',
        'lead',
        ['source_article', 'created_at', 'id', 'status'],
    ),
]
# Replaced by the composite indexes above, which start with the same column.
REPLACED = [
    ('ix_lead_utm_source', 'lead', ['utm_source']),
    ('ix_lead_source_article', 'lead', ['source_article']),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    for name, table, _columns in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table, columns in REPLACED:
        op.create_index(name, table, columns)
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
