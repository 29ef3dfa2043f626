"""Signed links for the confirmation and manage pages: no account, nothing guessable."""

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

SALTS = {"confirm": "booking-confirmed", "manage": "booking-manage"}


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALTS[purpose])


def make_token(purpose: str, booking_id: int) -> str:
    return _serializer(purpose).dumps({"b": booking_id})


def read_token(purpose: str, token: str) -> int | None:
    """Return the booking id, or None for any tampered or foreign token."""
    try:
        data = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    booking_id = data.get("b") if isinstance(data, dict) else None
    return booking_id if isinstance(booking_id, int) else None
