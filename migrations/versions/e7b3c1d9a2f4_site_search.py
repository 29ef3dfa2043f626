"""site search: the index of public content (SQLite FTS5, PostgreSQL tsvector + GIN) and the
daily count of search terms

Revision ID: e7b3c1d9a2f4
Revises: 9f3b6d2e8a41
Create Date: 2026-12-04 18:45:00

"""
import re

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7b3c1d9a2f4'
down_revision = '9f3b6d2e8a41'
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_document', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_document_ai AFTER INSERT ON search_document BEGIN "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_document_ad AFTER DELETE ON search_document BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER search_document_au AFTER UPDATE ON search_document BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_document_au",
    "DROP TRIGGER IF EXISTS search_document_ad",
    "DROP TRIGGER IF EXISTS search_document_ai",
    "DROP TABLE IF EXISTS search_fts",
]
PG_UP = [
    "ALTER TABLE search_document ADD COLUMN document tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', title), 'A') || "
    "setweight(to_tsvector('english', body), 'B')) STORED",
    "CREATE INDEX ix_search_document_document ON search_document USING gin (document)",
]


def upgrade():
    op.create_table(
        'search_document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=40), nullable=False),
        sa.Column('slug', sa.String(length=120), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('live_from', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'item_id'),
    )
    op.create_table(
        'search_term_day',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('term', sa.String(length=100), nullable=False),
        sa.Column('searches', sa.Integer(), nullable=False),
        sa.Column('results', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'term'),
    )
    for statement in SQLITE_UP if op.get_bind().dialect.name == 'sqlite' else PG_UP:
        op.execute(statement)
    _index_existing_content()


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for statement in SQLITE_DOWN:
            op.execute(statement)
    op.drop_table('search_term_day')
    op.drop_table('search_document')


# What follows fills the index from content already published, with a plain Markdown strip of
# its own (a migration must not change with the app's code); the next save of each item
# rewrites its row through clinic/search/index.py, as does `flask --app clinic search reindex`.
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"[#*_>`|~]+|^\s*[-+]\s+|^\s*\d+\.\s+", re.M)
_SPACES = re.compile(r"\s+")
FIXED_PAGES = {('legal', 'privacy'): 'content.privacy', ('about', 'about'): 'content.about'}


def _text(*parts) -> str:
    joined = " ".join(str(p or "") for p in parts)
    joined = _MARKUP.sub(" ", _LINK.sub(r"\1", joined)).replace("\ue000", "").replace("\ue001", "")
    return _SPACES.sub(" ", joined.replace("\x00", "")).strip()


def _index_existing_content():
    bind = op.get_bind()
    columns = ['id', 'slug', 'title', 'summary', 'body', 'status', 'publish_at']
    article = sa.table('article', *map(sa.column, columns),
                       sa.column('key_points', sa.JSON), sa.column('faqs', sa.JSON))
    page = sa.table('page', *map(sa.column, columns), sa.column('kind'))
    clinic = sa.table('clinic', *map(sa.column, [
        'id', 'slug', 'name', 'summary', 'building', 'street', 'locality', 'city', 'postcode']))
    rows = []
    for item in bind.execute(sa.select(article)).mappings():
        faqs = [f"{f.get('question', '')} {f.get('answer', '')}" for f in item['faqs'] or []]
        body = _text(item['summary'], item['body'], *(item['key_points'] or []), *faqs)
        rows += _row('article', item, 'content.article', body)
    for item in bind.execute(sa.select(page)).mappings():
        endpoint = ('content.treatment' if item['kind'] == 'treatment'
                    else FIXED_PAGES.get((item['kind'], item['slug'])))
        if endpoint:
            rows += _row('page', item, endpoint, _text(item['summary'], item['body']))
    for item in bind.execute(sa.select(clinic)).mappings():
        body = _text(item['summary'], item['building'], item['street'], item['locality'],
                     item['city'], item['postcode'])
        rows.append(dict(kind='clinic', item_id=item['id'], endpoint='content.clinic',
                         slug=item['slug'], title=_text(item['name'])[:200], body=body,
                         live_from=None))
    if rows:
        target = sa.table('search_document', *map(sa.column, [
            'kind', 'item_id', 'endpoint', 'slug', 'title', 'body', 'live_from',
        ]))  # live_from untyped: the value read from publish_at goes back as it came
        bind.execute(sa.insert(target), rows)


def _row(kind, item, endpoint, body):
    if item['status'] == 'published':
        live_from = None
    elif item['status'] == 'scheduled' and item['publish_at'] is not None:
        live_from = item['publish_at']
    else:
        return []
    return [dict(kind=kind, item_id=item['id'], endpoint=endpoint, slug=item['slug'],
                 title=_text(item['title'])[:200], body=body, live_from=live_from)]
