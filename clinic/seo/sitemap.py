"""What the sitemap lists: every public URL with the date its content last changed."""

from clinic.absolute_urls import absolute_url


def sitemap_entries(queries) -> list[dict]:
    """Return {loc, lastmod} for every page a visitor can reach."""
    articles = queries.published_articles()
    clinics = queries.clinics()
    people = {a.author for a in articles if a.author} | {a.reviewer for a in articles if a.reviewer}
    newest = max([a.updated_at for a in articles] + [c.updated_at for c in clinics], default=None)
    entries = [
        _entry("content.home", {}, newest),
        _entry("content.articles", {}, max((a.updated_at for a in articles), default=newest)),
        _entry("content.clinics", {}, max((c.updated_at for c in clinics), default=newest)),
    ]
    entries += [_entry("content.article", {"slug": a.slug}, a.updated_at) for a in articles]
    entries += [_entry("content.clinic", {"slug": c.slug}, c.updated_at) for c in clinics]
    entries += [
        _entry("content.treatment", {"slug": p.slug}, p.updated_at) for p in queries.treatments()
    ]
    entries += [
        _entry("content.author", {"slug": p.slug}, p.updated_at)
        for p in sorted(people, key=lambda p: p.slug)
    ]
    for slug, endpoint in (("privacy", "content.privacy"), ("about", "content.about")):
        page = queries.visible_page(slug)
        if page:
            entries.append(_entry(endpoint, {}, page.updated_at))
    return entries


def _entry(endpoint: str, values: dict, lastmod) -> dict:
    return {
        "loc": absolute_url(endpoint, **values),
        "lastmod": lastmod.date().isoformat() if lastmod else None,
    }
