"""Medical review: what is due for review, the weekly reminder, and the medicines check.

UK law (Human Medicines Regulations 2012, reg. 284) forbids advertising prescription-only
medicines to the public. An article may explain such a medicine, but naming one in a
headline or beside a booking call to action reads as promoting it, so an editor is warned.
"""

import re
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for

from clinic.content.hours import UK
from clinic.content.models import Article, Page, Person, ReviewReminder
from clinic.content.seed import one_year_after
from clinic.dbtypes import utcnow
from clinic.extensions import db
from clinic.notifications import outbox

# Prescription-only in the UK (generic and common brand names) and likely in our articles.
PRESCRIPTION_ONLY_MEDICINES = (
    "amitriptyline", "cyclobenzaprine", "nortriptyline", "duloxetine", "gabapentin",
    "pregabalin", "tramadol", "codeine", "dihydrocodeine", "morphine", "oxycodone",
    "tapentadol", "fentanyl", "buprenorphine", "diazepam", "baclofen", "tizanidine",
    "methocarbamol", "orphenadrine", "carisoprodol", "diclofenac", "naproxen", "celecoxib",
    "etoricoxib", "meloxicam", "prednisolone", "methylprednisolone", "triamcinolone",
    "botulinum toxin", "botox", "cymbalta", "lyrica", "neurontin", "zapain", "co-codamol 30/500",
)  # fmt: skip
_MEDICINE = re.compile(
    r"\b(" + "|".join(re.escape(m) for m in PRESCRIPTION_ONLY_MEDICINES) + r")\b", re.IGNORECASE
)
# A Markdown or bare link to the booking form: [Book](/book), (/book?from=x), https://…/book
_BOOKING_LINK = re.compile(r"(\]\(|\s|^|<)(https?://[^\s)]*)?/book(\b|$)", re.IGNORECASE)
SOON_DAYS = 30
LIVE_STATUSES = ("published", "scheduled")


def medicines_named(text: str) -> list[str]:
    """Return the prescription-only medicines named in `text`, lower case, in order, once each."""
    return list(dict.fromkeys(m.lower() for m in _MEDICINE.findall(text or "")))


def medicine_warnings(title: str, seo_title: str, body: str) -> list[str]:
    """Return a warning for each medicine named in a headline or next to a booking link."""
    warnings = []
    for label, text in (("headline", title), ("SEO title", seo_title)):
        for name in medicines_named(text):
            warnings.append(f"The {label} names {name}, a prescription-only medicine.")
    for paragraph in re.split(r"\n\s*\n", body or ""):
        if _BOOKING_LINK.search(paragraph):
            for name in medicines_named(paragraph):
                warnings.append(
                    f"A paragraph with a booking link names {name}, a prescription-only medicine."
                )
    return warnings


@dataclass(frozen=True)
class DueItem:
    kind: str
    id: int
    title: str
    status: str
    reviewer: Person | None
    due: date | None  # None: never reviewed

    @property
    def overdue(self) -> bool:
        return self.due is None or self.due < uk_today()


def uk_today() -> date:
    return utcnow().astimezone(UK).date()


def review_due_date(item) -> date | None:
    """Return when an item is next due for review: its own date, else a year after the last."""
    if item.next_review_due:
        return item.next_review_due
    return one_year_after(item.last_reviewed) if item.last_reviewed else None


def needs_review(kind: str, item) -> bool:
    """Articles and treatment pages carry medical claims; legal and about pages do not."""
    return kind == "article" or getattr(item, "kind", None) == "treatment"


def review_queue(today: date | None = None, within_days: int = SOON_DAYS) -> list[DueItem]:
    """Return live or scheduled content overdue or due within `within_days`, soonest first."""
    today = today or uk_today()
    horizon = today + timedelta(days=within_days)
    found = []
    for kind, model in (("article", Article), ("page", Page)):
        query = sa.select(model).where(model.status.in_(LIVE_STATUSES)).order_by(model.id)
        for item in db.session.scalars(query):
            due = review_due_date(item)
            if needs_review(kind, item) and (due is None or due <= horizon):
                found.append(DueItem(kind, item.id, item.title, item.status, item.reviewer, due))
    return sorted(found, key=lambda i: (i.due or date.min, i.kind, i.id))


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def send_review_reminders(today: date | None = None) -> dict[str, int]:
    """Queue this week's reminder to each reviewer with an e-mail address, once per ISO week."""
    today = today or uk_today()
    week = iso_week(today)
    by_reviewer: dict[int, list[DueItem]] = {}
    counts = {"sent": 0, "already_sent": 0, "no_email": 0}
    for item in review_queue(today):
        if item.reviewer is None or not item.reviewer.email:
            counts["no_email"] += 1
            continue
        by_reviewer.setdefault(item.reviewer.id, []).append(item)
    for person_id, items in by_reviewer.items():
        if _already_sent(week, person_id):
            counts["already_sent"] += 1
            continue
        _send_reminder(week, items[0].reviewer, items, today)
        counts["sent"] += 1
    db.session.flush()
    return counts


def _already_sent(week: str, person_id: int) -> bool:
    query = sa.select(ReviewReminder.id).where(
        ReviewReminder.iso_week == week, ReviewReminder.person_id == person_id
    )
    return db.session.scalar(query) is not None


def _send_reminder(week: str, reviewer: Person, items: list[DueItem], today: date) -> None:
    config = current_app.config
    context = {
        "reviewer": reviewer,
        "items": [(item, _edit_link(item)) for item in items],
        "today": today,
        "queue_url": _admin_url("content_admin.review_queue"),
        "site_name": config["CLINIC_NAME"],
        "site_phone": config["CLINIC_PHONE"],
    }
    subject = f"Medical review: {len(items)} item(s) due ({week})"
    message = outbox.queue_template(
        reviewer.email, subject, "review_reminder", context, kind="review_reminder"
    )
    db.session.add(
        ReviewReminder(
            iso_week=week,
            person_id=reviewer.id,
            recipient=reviewer.email,
            item_count=len(items),
            outbox_message_id=message.id,
        )
    )


def _edit_link(item: DueItem) -> str:
    return _admin_url(f"content_admin.edit_{item.kind}", item_id=item.id)


def _admin_url(endpoint: str, **values) -> str:
    """Build an absolute admin link, also from a CLI command (which has no request)."""
    request_context = nullcontext() if has_request_context() else current_app.test_request_context()
    with request_context:
        return current_app.config["CLINIC_BASE_URL"] + url_for(endpoint, **values)
