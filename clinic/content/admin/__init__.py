"""The content editor: articles, pages, clinics, people, revisions, redirects and images.

Marketers and admins only (staff get 403). Every change goes through clinic.content.editing
(or redirects / images), which records a revision and an audit entry; the view commits.
One module per kind of page: editor (articles and pages), directory (clinics and people),
history (revisions), redirect_pages, image_pages; common holds what they share.
"""

from flask import Blueprint

from clinic.accounts.roles import no_store, require_roles
from clinic.content import images, scheduler

bp = Blueprint("content_admin", __name__, url_prefix="/admin/content")
bp.before_request(require_roles("marketer"))
bp.after_request(no_store)


@bp.record_once
def _configure(state) -> None:
    images.configure(state.app)
    scheduler.init_app(state.app)


# The pages register their routes on bp.
from clinic.content.admin import (  # noqa: E402
    directory,
    editor,
    history,
    image_pages,
    redirect_pages,
)

__all__ = ["bp", "directory", "editor", "history", "image_pages", "redirect_pages"]
