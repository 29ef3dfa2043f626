"""Permanent redirects for URLs that moved: always one hop to the end, never a loop.

The public site looks a path up only when it would otherwise answer 404, so redirects
cost nothing on the pages that exist.
"""

import sqlalchemy as sa
from flask import current_app
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from clinic import untrusted_urls
from clinic.audit.services import record
from clinic.content.models import Article, Clinic, Page, Person, Redirect
from clinic.content.versions import claim, refused_if_stale
from clinic.extensions import db

MAX_PATH = 300


class RedirectError(ValueError):
    """A redirect that would leave the site, loop, clash with another one or never work;
    `field` is the form field to fix ("old_path" or "new_path")."""

    def __init__(self, message: str, field: str = "new_path"):
        super().__init__(message)
        self.field = field


def clean_path(value: str | None) -> str:
    """Return `value` as a local path ("/articles/x"), or raise: never another site, never "//"."""
    value = (value or "").strip()
    if not untrusted_urls.is_local_path(value):
        raise RedirectError(
            f"{value or 'An empty path'} is not a path on this site (start with /)."
        )
    if len(value) > MAX_PATH:
        raise RedirectError(f"A path may have at most {MAX_PATH} characters.")
    return value


def by_old_path(path: str) -> Redirect | None:
    return db.session.scalar(sa.select(Redirect).where(Redirect.old_path == path))


def target_for(path: str) -> str | None:
    """Return where a moved path now lives, or None (one indexed lookup)."""
    return db.session.scalar(sa.select(Redirect.new_path).where(Redirect.old_path == path))


def end_of_chain(path: str, source: str, ignore_id: int | None = None) -> str:
    """Follow redirects from `path` to the end; raise if the chain comes back to `source`."""
    seen = {source}
    current = path
    while True:
        if current in seen:
            raise RedirectError(f"{path} leads back to {source}: that would be a redirect loop.")
        seen.add(current)
        step = by_old_path(current)
        if step is None or step.id == ignore_id:
            return current
        current = step.new_path


def save(
    old_path: str,
    new_path: str,
    user_email: str = "",
    redirect: Redirect | None = None,
    by_hand: bool = False,
    version: int | None = None,
) -> Redirect:
    """Create or change a redirect, pointing it (and any chain ending at it) at the final URL.
    `by_hand`: typed in the redirect manager, so also refuse one that could never take effect
    (a content move always can: its old address has just stopped answering). `version`: the
    one the editor opened, else EditConflict (someone saved the redirect since)."""
    if version is not None:
        claim(redirect, version)
    try:
        old_path = clean_path(old_path)
    except RedirectError as error:
        raise RedirectError(str(error), "old_path") from None
    new_path = clean_path(new_path)
    if "?" in old_path or "#" in old_path:
        raise RedirectError(
            "Enter the old path without “?” or “#” and what follows: a redirect matches the "
            "path only (and keeps the visitor's query string).",
            "old_path",
        )
    if old_path == new_path:
        raise RedirectError("A redirect cannot point at its own path.")
    ignore_id = redirect.id if redirect else None
    end = end_of_chain(new_path, old_path, ignore_id)
    clash = by_old_path(old_path)
    if clash is not None and clash is not redirect:
        if redirect is not None:
            raise RedirectError(f"There is already a redirect from {old_path}.", "old_path")
        redirect = clash  # a path moved again: repoint the redirect it already had
    if by_hand:
        _refuse_what_never_works(old_path, end)
    is_new = redirect is None
    if is_new:
        redirect = Redirect(old_path=old_path, created_by=user_email)
        db.session.add(redirect)
    redirect.old_path, redirect.new_path = old_path, end
    with refused_if_stale():
        _collapse_chains_into(old_path, end)
        db.session.flush()
    action = "redirect_create" if is_new else "redirect_edit"
    record(action, "redirect", redirect.id, detail=f"{old_path} -> {end}")
    return redirect


def _refuse_what_never_works(old_path: str, end: str) -> None:
    if answers(old_path):
        raise RedirectError(
            f"{old_path} is a live page of this site: visitors see it, never a redirect. "
            "Unpublish it first, or enter another old path.",
            "old_path",
        )
    if not answers(end):
        raise RedirectError(
            f"There is no page at {end}: visitors would see “page not found”. Enter the "
            "address of a published page."
        )


# Public pages found by slug: whether the slug has one the public may see.
_CONTENT = {
    "content.article": lambda slug: _exists(Article, Article.slug == slug, Article.visible()),
    "content.treatment": lambda slug: _exists(
        Page, Page.slug == slug, Page.kind == "treatment", Page.visible()
    ),
    "content.privacy": lambda: _exists(Page, Page.slug == "privacy", Page.visible()),
    "content.about": lambda: _exists(Page, Page.slug == "about", Page.visible()),
    "content.clinic": lambda slug: _exists(Clinic, Clinic.slug == slug),
    "content.author": lambda slug: _exists(Person, Person.slug == slug),
}


def _exists(model, *conditions) -> bool:
    return db.session.scalar(sa.select(model.id).where(*conditions).limit(1)) is not None


def answers(path: str) -> bool:
    """Whether the site itself answers `path` (a page, not "page not found"): a redirect from
    such a path never takes effect, and one to a path that does not answer leads nowhere."""
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, args = adapter.match(untrusted_urls.path_only(path), method="GET")
    except (RequestRedirect, MethodNotAllowed):
        return True  # Flask adds the missing slash itself; a POST-only path answers 405
    except NotFound:
        return False
    lookup = _CONTENT.get(endpoint)
    return lookup(**args) if lookup else True


def _collapse_chains_into(path: str, end: str) -> None:
    """A→B then B→C: make A point straight at C, so every visitor needs one hop."""
    query = sa.select(Redirect).where(Redirect.new_path == path)
    for earlier in db.session.scalars(query):
        earlier.new_path = end
        record("redirect_edit", "redirect", earlier.id, detail=f"{earlier.old_path} -> {end}")


def release(path: str) -> None:
    """Drop the redirect from a path that now has content of its own (a slug changed back)."""
    existing = by_old_path(path)
    if existing is not None:
        record("redirect_delete", "redirect", existing.id, detail=f"{path}: has content again")
        db.session.delete(existing)
        db.session.flush()


def moved(old_path: str, new_path: str, user_email: str = "") -> Redirect:
    """Record that public content moved from `old_path` to `new_path`."""
    release(new_path)
    return save(old_path, new_path, user_email)


def delete(redirect: Redirect) -> None:
    record("redirect_delete", "redirect", redirect.id, detail=redirect.old_path)
    db.session.delete(redirect)
    db.session.flush()


def all_redirects() -> list[Redirect]:
    return list(db.session.scalars(sa.select(Redirect).order_by(Redirect.old_path)))
