"""Rows for years of a busy clinic, made up as plain dicts for bulk inserts (no Flask here).

A lead books one call or more; each call has its timeline lines, its confirmation e-mail and
staff's audit entries around it. Spreads follow a clinic that grows: more leads each year, a
day's leads mostly in UK daytime, most calls done, some missed or cancelled, unconverted old
leads erased by the retention purge.
"""

import bisect
import itertools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from clinic.booking.slots import Hours, Rules, day_slots
from clinic.uktime import UK

DOMAIN = "demo-load.invalid"
# Kept on every generated lead (erasure keeps the consent text): how demo-load knows its own.
MARK = "Made by demo-load: test data, not a real person."
YEARS = 5
ERASED = "[erased]"
CONVERTED = ("qualified", "treatment_booked")
ANY_TIME = Rules(min_notice=timedelta(0), horizon=timedelta(days=365 * 200))
LONG_AGO = datetime(1990, 1, 1, tzinfo=UTC)


class Weighted:
    """Values with weights, drawn from quickly (random.choices re-adds the weights each time)."""

    def __init__(self, weights: dict):
        self.values = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))

    def draw(self, rng: random.Random):
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


FIRST_NAMES = (
    "Oliver George Harry Jack Noah Leo Arthur Muhammad Oscar Charlie Jacob Thomas Henry William "
    "James Daniel David Michael Peter Paul Mark Simon Andrew Robert John Olivia Amelia Isla Ava "
    "Mia Ivy Lily Isabella Sophia Grace Freya Emily Sarah Emma Claire Helen Susan Margaret Anne "
    "Priya Aisha Fatima Zara Chloe Hannah Lucy Ruth Joan Deborah Karen Rachel Nicola Joanne"
).split()
# Common British surnames with rough weights (Smith about 1 in 80), then a long tail.
SURNAMES = Weighted(
    {
        "Smith": 13,
        "Jones": 8,
        "Williams": 7,
        "Taylor": 6,
        "Brown": 6,
        "Davies": 5,
        "Evans": 4,
        "Wilson": 4,
        "Thomas": 4,
        "Johnson": 4,
        "Roberts": 3,
        "Robinson": 3,
        "Thompson": 3,
        "Wright": 3,
        "Walker": 3,
        "White": 3,
        "Edwards": 3,
        "Hughes": 3,
        "Green": 3,
        "Hall": 3,
        "Lewis": 3,
        "Harris": 3,
        "Clarke": 3,
        "Patel": 3,
        "Jackson": 3,
        "Wood": 2,
        "Turner": 2,
        "Martin": 2,
        "Cooper": 2,
        "Hill": 2,
        "Ward": 2,
        "Morris": 2,
        "Moore": 2,
        "Khan": 2,
        "Lee": 2,
        "King": 2,
        "Baker": 2,
        "Harrison": 2,
        "Morgan": 2,
        "Allen": 2,
        "Singh": 2,
        "Ali": 2,
        "Begum": 2,
        "Hussain": 2,
        "Kelly": 2,
        "Murphy": 2,
        "O'Brien": 1,
        "Nowak": 1,
    }
)
TAIL_START = "Ash Black Brad Crom Fair Hart Lang Mor Pen Ros Stan Thorn Wat Whit Bur Dun".split()
TAIL_END = "ford ley ton well wood field by ham worth combe stead more dale brook wick shaw".split()
TAIL_SHARE = 0.55

STATUS_WEIGHTS = Weighted(
    {
        "new": 6,
        "contacted": 24,
        "qualified": 14,
        "treatment_booked": 18,
        "not_suitable": 14,
        "lost": 24,
    }
)
CALLS_PER_LEAD = Weighted({0: 2, 1: 74, 2: 20, 3: 4})  # about 1.26 calls a lead
PAST_CALL_STATUS = Weighted({"done": 72, "no_show": 13, "cancelled": 15})
CLINIC_WEIGHTS = {"london": 40, "manchester": 33, "bedford": 27}
HOURS = Weighted(
    dict(enumerate([1, 1, 0, 0, 0, 1, 2, 4, 6, 8, 9, 9, 9, 9, 8, 8, 7, 7, 7, 8, 8, 6, 4, 2]))
)
NOTES = (
    "Phoned, left a voicemail.",
    "Spoke to them: lower back pain for two years, worse when sitting.",
    "Asked about prices for a course of treatment; sent the price list.",
    "Prefers calls after 5pm.",
    "GP referral letter to follow.",
    "Knee pain after running; wants to avoid surgery.",
    "Rang back to rearrange, could not get through.",
)
MESSAGES = (
    "Lower back pain for two years.",
    "Neck and shoulder pain since a car accident.",
    "Knee pain when I run; I would like to avoid an operation.",
    "Sciatica down my left leg.",
    "Tennis elbow that will not go away.",
    "",
)
SOURCES = Weighted(
    {
        "organic": 40,
        "direct": 15,
        "cpc": 15,
        "social": 8,
        "newsletter": 5,
        "bing": 4,
        "phone": 8,
        "referral": 5,
    }
)
NOTES_PER_LEAD = Weighted({0: 50, 1: 35, 2: 15})
VIEWS_PER_LEAD = Weighted({1: 15, 2: 25, 3: 25, 4: 20, 5: 15})
CAMPAIGNS = ("back-pain", "knee-pain", "prolotherapy", "spring-offer", "sciatica")
TERMS = ("back pain clinic", "prolotherapy near me", "knee pain treatment", "sciatica help")


@dataclass(frozen=True)
class ClinicInfo:
    """What the generator needs to know about one clinic: id, names and opening hours."""

    id: int
    slug: str
    name: str
    city: str
    hours: tuple[Hours, ...]


@dataclass
class World:
    """The fixed facts and running state a batch is made from."""

    now: datetime
    clinics: Sequence[ClinicInfo]
    articles: Sequence[str]
    staff: Sequence[tuple[int, str]]
    next_ids: dict[str, int]
    taken: set[tuple[int, datetime]] = field(default_factory=set)
    free: dict[tuple[int, date], list[datetime]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        weights = {c: CLINIC_WEIGHTS.get(c.slug, 20) for c in self.clinics}
        self.clinic_choice = Weighted(weights)

    def new_id(self, table: str) -> int:
        self.next_ids[table] += 1
        return self.next_ids[table] - 1


@dataclass
class Batch:
    """Rows for some leads and everything that belongs to them, one list per table."""

    lead: list[dict] = field(default_factory=list)
    booking: list[dict] = field(default_factory=list)
    lead_event: list[dict] = field(default_factory=list)
    audit_entry: list[dict] = field(default_factory=list)
    outbox_message: list[dict] = field(default_factory=list)

    def tables(self) -> dict[str, list[dict]]:
        return {name: rows for name, rows in vars(self).items()}


def lead_times(count: int, now: datetime, rng: random.Random) -> list[datetime]:
    """Return `count` creation times over the last five years, more each year, sorted."""
    span = timedelta(days=365 * YEARS).total_seconds()
    times = []
    for _ in range(count):
        share = rng.random() ** 0.85  # denser towards now: a clinic that grows
        moment = now - timedelta(seconds=span * (1 - share))
        local = moment.astimezone(UK)
        hour = HOURS.draw(rng)
        local = local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60))
        times.append(min(local.astimezone(UTC), now - timedelta(minutes=1)))
    return sorted(times)


def batches(world: World, times: Sequence[datetime], rng: random.Random, size: int):
    """Yield one Batch per `size` leads, in the order of `times`."""
    for start in range(0, len(times), size):
        batch = Batch()
        for created in times[start : start + size]:
            add_lead(world, batch, created, rng)
        for rows, key in ((batch.audit_entry, "at"), (batch.outbox_message, "created_at")):
            _renumber_by_time(rows, key)
        yield batch


def _renumber_by_time(rows: list[dict], key: str) -> None:
    """Give a batch's ids in time order, as rows written one by one would have them."""
    ids = sorted(row["id"] for row in rows)
    rows.sort(key=lambda row: row[key])
    for new_id, row in zip(ids, rows, strict=True):
        row["id"] = new_id


def add_lead(world: World, batch: Batch, created: datetime, rng: random.Random) -> None:
    """Add one lead with its calls, timeline, e-mails and audit entries to the batch."""
    lead = _lead(world, created, rng)
    clinic = world.clinic_choice.draw(rng)
    calls = _calls(world, lead, clinic, rng)
    owner = rng.choice(world.staff) if world.staff and lead["status"] != "new" else None
    lead["owner_id"] = owner[0] if owner else None
    staff = owner or (rng.choice(world.staff) if world.staff else (None, "system"))
    events = _events(world, lead, calls, clinic, staff, rng)
    emails = [_email(world, lead, call, clinic, rng) for call in calls]
    audit = _audit(world, lead, calls, events, staff, rng)
    if _should_erase(world, lead, rng):
        audit.append(_erase(world, lead, calls, events, emails, rng))
    batch.lead.append(lead)
    batch.booking += calls
    batch.lead_event += events
    batch.outbox_message += emails
    batch.audit_entry += audit


def _surname(rng: random.Random) -> str:
    if rng.random() < TAIL_SHARE:
        return rng.choice(TAIL_START) + rng.choice(TAIL_END)
    return SURNAMES.draw(rng)


def _lead(world: World, created: datetime, rng: random.Random) -> dict:
    lead_id = world.new_id("lead")
    first, last = rng.choice(FIRST_NAMES), _surname(rng)
    local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
    age = world.now - created
    status = "new" if age < timedelta(days=2) else STATUS_WEIGHTS.draw(rng)
    return {
        "id": lead_id,
        "email": f"{local}.{lead_id}@{DOMAIN}",
        "name": f"{first} {last}",
        "phone": f"+447{rng.randrange(10**9):09d}",
        "status": status,
        "owner_id": None,
        "consent_at": created,
        "consent_text": MARK,
        "marketing_opt_in": rng.random() < 0.3,
        "created_at": created,
        "updated_at": created,
        "erased_at": None,
        **_attribution(world, rng),
    }


def _attribution(world: World, rng: random.Random) -> dict:
    """Return where a visit came from: search, ads, social, newsletter, direct or phone."""
    article = rng.choice(world.articles) if world.articles else None
    on_article = {"landing_page": f"/articles/{article}", "source_article": article}
    source = SOURCES.draw(rng)
    campaign = f"{rng.choice(CAMPAIGNS)}-{rng.randrange(2021, 2027)}"
    values = {
        "organic": {"referrer": "https://www.google.com/", **(on_article if article else {})},
        "bing": {"referrer": "https://www.bing.com/", **(on_article if article else {})},
        "direct": {"landing_page": "/"},
        "cpc": {
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": campaign,
            "utm_term": rng.choice(TERMS),
            "landing_page": "/prolotherapy",
        },
        "social": {
            "utm_source": "facebook",
            "utm_medium": "paid_social",
            "utm_campaign": campaign,
            "utm_content": f"ad-{rng.randrange(1, 6)}",
            "landing_page": "/book",
        },
        "newsletter": {
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": campaign,
            **(on_article if article else {}),
        },
        "phone": {"utm_source": "phone"},
        "referral": {"referrer": "https://www.nhs.uk/conditions/back-pain/", "landing_page": "/"},
    }[source]
    empty = dict.fromkeys(
        (
            "landing_page",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "source_article",
        )
    )
    return {**empty, **values}


def _calls(world: World, lead: dict, clinic: ClinicInfo, rng: random.Random) -> list[dict]:
    calls, booked_at = [], lead["created_at"]
    for number in range(CALLS_PER_LEAD.draw(rng)):
        if booked_at >= world.now:
            break
        wait = timedelta(days=rng.uniform(0.1, 10) if number == 0 else rng.uniform(7, 60))
        start = _free_slot(world, clinic, booked_at + wait, rng)
        call = _call(world, lead, clinic, start, booked_at, rng)
        calls.append(call)
        booked_at = start + timedelta(days=rng.uniform(1, 30))
    return calls


def _call(world, lead, clinic, start, booked_at, rng) -> dict:
    if start > world.now - timedelta(days=1):
        status = "cancelled" if rng.random() < 0.1 else "confirmed"
    else:
        status = PAST_CALL_STATUS.draw(rng)
    cancelled_at = booked_at + (start - booked_at) * rng.random() if status == "cancelled" else None
    if status != "cancelled":
        _take(world, clinic, start)
    return {
        "id": world.new_id("booking"),
        "lead_id": lead["id"],
        "clinic_id": clinic.id,
        "starts_at": start,
        "status": status,
        "message": rng.choice(MESSAGES) or None,
        "source_article": lead["source_article"],
        "idempotency_key": None,
        "ical_uid": f"{uuid.UUID(int=rng.getrandbits(128), version=4)}@prohealthclinic",
        "sequence": 1 if cancelled_at else 0,
        "created_at": booked_at,
        "updated_at": cancelled_at or booked_at,
        "cancelled_at": cancelled_at,
    }


def _free_slot(world: World, clinic: ClinicInfo, wanted: datetime, rng: random.Random):
    """Return a free start on the day of `wanted` or the next day with one (never a taken one)."""
    day = wanted.astimezone(UK).date()
    while True:
        free = _free_starts(world, clinic, day)
        if free:
            return free[rng.randrange(len(free))]
        day += timedelta(days=1)


def _free_starts(world: World, clinic: ClinicInfo, day: date) -> list[datetime]:
    """Return (and keep, to take from) the clinic's free starts on one UK day."""
    key = (clinic.id, day)
    if key not in world.free:
        grid = day_slots(day, clinic.hours, (), (), LONG_AGO, ANY_TIME)
        world.free[key] = [start for start in grid if (clinic.id, start) not in world.taken]
    return world.free[key]


def _take(world: World, clinic: ClinicInfo, start: datetime) -> None:
    world.taken.add((clinic.id, start))
    world.free[(clinic.id, start.astimezone(UK).date())].remove(start)


def _when(start: datetime, clinic: ClinicInfo) -> str:
    return _local_when(start, clinic.city)


@lru_cache(maxsize=2**16)
def _local_when(start: datetime, city: str) -> str:
    local = start.astimezone(UK)
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}, {city}"


def _event(world, lead, kind, detail, at, actor="patient", booking_id=None) -> dict:
    return {
        "id": world.new_id("lead_event"),
        "lead_id": lead["id"],
        "booking_id": booking_id,
        "kind": kind,
        "detail": detail,
        "actor": actor,
        "created_at": at,
    }


def _events(world, lead, calls, clinic, staff, rng) -> list[dict]:
    """Return the timeline: each call booked and how it went, pipeline changes and notes."""
    events = []
    if lead["utm_source"] == "phone":
        events.append(
            _event(
                world,
                lead,
                "added",
                "Added by staff for a person who phoned; consent given by phone.",
                lead["created_at"],
                staff[1],
            )
        )
    for call in calls:
        when = _when(call["starts_at"], clinic)
        events.append(
            _event(
                world,
                lead,
                "booked",
                f"{when} at {clinic.name}",
                call["created_at"],
                booking_id=call["id"],
            )
        )
        if call["status"] == "cancelled":
            events.append(
                _event(world, lead, "cancelled", when, call["cancelled_at"], booking_id=call["id"])
            )
        elif call["status"] in ("done", "no_show"):
            kind = "call_done" if call["status"] == "done" else "no_show"
            after = call["starts_at"] + timedelta(minutes=rng.randrange(15, 240))
            events.append(_event(world, lead, kind, f"Call on {when}", after, staff[1], call["id"]))
    events += _pipeline_events(world, lead, calls, staff, rng)
    for _ in range(NOTES_PER_LEAD.draw(rng)):
        at = _later(world, lead["created_at"], 90, rng)
        events.append(_event(world, lead, "note", rng.choice(NOTES), at, staff[1]))
    return events


def _later(world: World, after: datetime, days: float, rng: random.Random) -> datetime:
    """Return a moment up to `days` after `after`, and never after now."""
    moment = after + timedelta(days=rng.uniform(0, days))
    return moment if moment < world.now else after + (world.now - after) * rng.random()


def _pipeline_events(world, lead, calls, staff, rng) -> list[dict]:
    steps = {"new": [], "contacted": ["contacted"]}.get(
        lead["status"], ["contacted", lead["status"]]
    )
    at, events, before = calls[0]["starts_at"] if calls else lead["created_at"], [], "new"
    for step in steps:
        at = _later(world, at, 14, rng)
        detail = f"Status: {before.replace('_', ' ').capitalize()} → {step.replace('_', ' ')}"
        events.append(_event(world, lead, "status", detail, at, staff[1]))
        before = step
    return events


def _email(world, lead, call, clinic, rng) -> dict:
    """Return the patient's confirmation of a call, delivered (a few failed for good)."""
    status = "failed" if rng.random() < 0.005 else "sent"
    created = call["created_at"]
    when = _when(call["starts_at"], clinic)
    text = (
        f"Dear {lead['name']},\n\nYour free discovery call is booked for {when}.\n"
        f"{clinic.name} will phone you on {lead['phone']}.\n\nProHealth Clinic\n"
    )
    return {
        "id": world.new_id("outbox_message"),
        "created_at": created,
        "kind": "booking.patient",
        "recipients": [lead["email"]],
        "subject": f"Your free discovery call: {when}",
        "text_body": text,
        "html_body": f"<p>{text}</p>",
        "attachments": [],
        "status": status,
        "attempts": 8 if status == "failed" else 1,
        "max_attempts": 8,
        "not_before": created,
        "claimed_until": None,
        "sent_at": created + timedelta(seconds=rng.uniform(1, 30)) if status == "sent" else None,
        "last_error": "550 mailbox unavailable" if status == "failed" else None,
        "lead_id": lead["id"],
        "booking_id": call["id"],
    }


def _audit_row(world, at, staff, action, target_type="lead", target_id=None, detail="") -> dict:
    return {
        "id": world.new_id("audit_entry"),
        "at": at,
        "user_id": staff[0],
        "user_email": staff[1],
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "detail": detail,
        "ip_address": "10.0.0.12",
    }


def _audit(world, lead, calls, events, staff, rng) -> list[dict]:
    """Return staff's reads and changes of this lead: about eight entries a lead."""
    lead_id, rows = lead["id"], []
    for _ in range(VIEWS_PER_LEAD.draw(rng)):
        at = _later(world, lead["created_at"], 60, rng)
        rows.append(_audit_row(world, at, staff, "lead_viewed", "lead", lead_id))
    for event in events:
        if event["kind"] == "status":
            rows.append(
                _audit_row(
                    world,
                    event["created_at"],
                    staff,
                    "lead_changed",
                    "lead",
                    lead_id,
                    "status changed",
                )
            )
    for call in calls:
        if call["status"] in ("done", "no_show"):
            at = call["starts_at"] + timedelta(minutes=20)
            detail = f"outcome={call['status']}"
            rows.append(
                _audit_row(world, at, staff, "booking_outcome", "booking", call["id"], detail)
            )
    for action, chance in (
        ("leads_listed", 1.0),
        ("agenda_viewed", 0.5),
        ("dashboard_viewed", 0.5),
        ("login", 0.3),
    ):
        if rng.random() < chance:
            at = _later(world, lead["created_at"], 7, rng)
            rows.append(_audit_row(world, at, staff, action, "lead", None, f"leads={lead_id}"))
    return rows


def _should_erase(world: World, lead: dict, rng: random.Random) -> bool:
    """Unconverted leads over two years old: about half were erased by the retention purge."""
    old = world.now - lead["created_at"] > timedelta(days=730)
    return old and lead["status"] not in CONVERTED and rng.random() < 0.5


def _erase(world, lead, calls, events, emails, rng) -> dict:
    """Do what erasure does (the person's details go, the rows stay); return its audit row."""
    last = max([lead["created_at"], *(c["starts_at"] for c in calls)]) + timedelta(days=1)
    at = min(max(_later(world, lead["created_at"], 500, rng), last), world.now)
    lead.update(name=None, email=None, phone=None, landing_page=None, referrer=None, erased_at=at)
    for call in calls:
        call["message"] = None
    for event in events:
        if event["kind"] == "note":
            event["detail"] = ERASED
    for message in emails:
        message.update(recipients=[], subject=ERASED, text_body=ERASED, html_body=ERASED)
    return _audit_row(
        world,
        at,
        (None, "system"),
        "lead_erased",
        "lead",
        lead["id"],
        "retention: older than 365 days",
    )
