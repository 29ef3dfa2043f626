"""Helpers that drive the booking form the way a browser does: GET, read tokens, POST."""

from tests.helpers import soup

GOOD = {
    "name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "phone": "07911 123456",
    "message": "Lower back pain for two years.",
    "consent": "y",
}


def first_free_slot(client, clinic: str = "london", skip: int = 0, days_ahead: int = 0) -> str:
    """Return a free slot's ISO start as the form offers it, from the JSON endpoint."""
    page = soup(client.get(f"/book?clinic={clinic}"))
    days = [o["value"] for o in page.select("select#date option")][days_ahead:]
    found = []
    for day in days:
        found += [
            s["start"] for s in client.get(f"/book/slots?clinic={clinic}&date={day}").json["slots"]
        ]
        if len(found) > skip:
            return found[skip]
    raise AssertionError("no free slot in the horizon")


def form_fields(client, path: str = "/book?clinic=london") -> dict:
    """GET the form and return its hidden fields (CSRF token, idempotency key, attribution)."""
    page = soup(client.get(path))
    form = page.select_one("form.booking-form")
    return {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}


FIRST_FREE = "first free slot"


def booking_data(client, slot: str | None = FIRST_FREE, at: str = "london", **overrides) -> dict:
    """Return a complete, valid submission for clinic `at`; None in `overrides` drops a field."""
    data = form_fields(client, f"/book?clinic={at}")
    if slot == FIRST_FREE:
        slot = first_free_slot(client, at)
    data.update(GOOD, clinic=at, slot=slot, action="book")
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
