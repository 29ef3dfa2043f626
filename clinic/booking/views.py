"""Booking pages: the form, free times as JSON, the confirmation and the manage link."""

import secrets
from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError

from clinic import untrusted_urls
from clinic.booking import catalogue, ics, picker, services, tokens
from clinic.booking.forms import CONSENT_TEXT, BookingForm, CancelForm, RescheduleForm
from clinic.booking.models import Booking
from clinic.booking.picker import read_choice, read_time, slot_choices
from clinic.dbtypes import utcnow
from clinic.errors import message_page
from clinic.extensions import db, limiter
from clinic.monitoring import metrics

bp = Blueprint("booking", __name__, url_prefix="/book")

# How long after booking the confirmation page still shows the phone number and e-mail in
# full, so the patient can spot a typo; later (the link may sit in a shared browser) it hides them.
SHOW_CONTACT_FOR = timedelta(hours=1)
FORM_EXPIRED = (
    "Nothing was sent: the form had been open for a long time. Please check your details and "
    "press “Book my free call” again. If you see this again, your browser may be "
    "blocking cookies, which the form needs: call us and we will book the call for you."
)
TOO_MANY = (
    "You have sent this form many times in a short while, so we could not take it. Please "
    "wait a minute and send it again, or call us and we will book the call for you."
)


def _booking_limit() -> str:
    return current_app.config["BOOKING_RATE_LIMIT"]


def _article_read_last() -> str:
    """The article a reader came from when the link carried none (the header's button):
    the slug in this site's own Referer, so the booking still counts for that article."""
    path = untrusted_urls.path_on(request.referrer, request.host) or ""
    slug = path.removeprefix("/articles/")
    return "" if slug == path or "/" in slug else slug


def _only_showing_times() -> bool:
    """The no-JavaScript "Show free times" button posts the form but books nothing: unlimited."""
    return request.form.get("action") == "times"


@bp.errorhandler(CSRFError)
def form_expired(_error):
    """Give the booking form back with what was typed and a fresh token, not a dead end."""
    if request.endpoint == "booking.submit":
        metrics.booking_refused("form_expired")
        return _render_form(BookingForm(), 400, problem=FORM_EXPIRED)
    return message_page(400)


@bp.errorhandler(429)
def too_many_attempts(_error):
    if request.endpoint == "booking.submit":
        metrics.booking_refused("rate_limited")
        return _render_form(BookingForm(), 429, problem=TOO_MANY)
    return message_page(429)


@bp.after_request
def never_store(response):
    response.cache_control.no_store = True
    response.cache_control.private = True
    return response


@bp.get("")
def book():
    """Show the booking form, with a clinic or source article preselected from the link."""
    form = BookingForm(formdata=None)
    form.clinic.data = request.args.get("clinic", "")
    form.date.data = request.args.get("date", "")
    form.source.data = (request.args.get("from") or _article_read_last())[:120]
    form.referrer.data = (request.referrer or "")[:500]
    return _render_form(form)


@bp.post("")
@limiter.limit(_booking_limit, methods=["POST"], exempt_when=_only_showing_times)
def submit():
    """Validate, book the call, then send the patient to the confirmation."""
    form = BookingForm()
    if request.form.get("action") == "times":
        return _render_form(form)
    valid = form.validate()
    if form.website.data:
        metrics.booking_refused("spam")
        return _render_form(form, 400, problem="We could not accept this form. Please try again.")
    clinic, start = read_choice(form)
    if not valid or form.clinic.errors or form.slot.errors:
        metrics.booking_refused("invalid")
        return _render_form(form, 422)
    try:
        booking_id = services.book_call(_request(form, clinic, start))
    except services.SlotUnavailable as refusal:
        metrics.booking_refused("taken" if refusal.reason == services.TAKEN else "not_offered")
        return _render_form(form, 409, alternatives=picker.refuse(form, refusal))
    return _to_confirmation(booking_id)


def _request(form: BookingForm, clinic, start: datetime) -> services.Request:
    return services.Request(
        clinic=clinic,
        start=start,
        name=form.name.data.strip(),
        email=form.email.data,
        phone=form.phone.data,
        message=(form.message.data or "").strip() or None,
        consent_text=CONSENT_TEXT,
        marketing_opt_in=form.marketing_opt_in.data,
        attribution=form.attribution(),
        idempotency_key=form.idempotency_key.data or None,
    )


def _to_confirmation(booking_id: int):
    token = tokens.make_token("confirm", booking_id)
    return redirect(url_for("booking.confirmed", token=token), 303)


def _render_form(form: BookingForm, status: int = 200, problem=None, alternatives=()):
    if not form.idempotency_key.data:
        form.idempotency_key.data = _new_key()
    clinic = catalogue.by_slug(form.clinic.data)
    context = picker.context(form, clinic, catalogue.clinics(), alternatives)
    return render_template("booking/book.html", problem=problem, **context), status


def _new_key() -> str:
    return secrets.token_urlsafe(24)


@bp.get("/slots")
def slots():
    """Return the free times at one clinic on one day as JSON, for the page's script."""
    clinic = catalogue.by_slug(request.args.get("clinic"))
    try:
        day = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        day = None
    if clinic is None or day is None:
        return jsonify(error="Give a known clinic and a date as YYYY-MM-DD."), 400
    return jsonify(
        slots=[
            {"start": value, "label": label} for value, label in slot_choices(clinic, day, utcnow())
        ]
    )


def _booking_from(purpose: str, token: str) -> Booking:
    booking_id = tokens.read_token(purpose, token)
    booking = db.session.get(Booking, booking_id) if booking_id else None
    if booking is None or booking.lead.erased_at is not None:
        abort(404)
    return booking


@bp.get("/confirmed/<token>")
def confirmed(token: str):
    """Show the booked time in UK time, the calendar download and the manage link."""
    booking = _live("confirm", token)
    show_contact = utcnow() - booking.created_at < SHOW_CONTACT_FOR
    return render_template(
        "booking/confirmed.html",
        booking=booking,
        token=token,
        show_contact=show_contact,
        manage_token=tokens.make_token("manage", booking.id),
    )


@bp.get("/confirmed/<token>/invite.ics")
def invite(token: str):
    """Download the call as a calendar event (marked cancelled once it is)."""
    booking = _live("confirm", token)
    body = ics.invitation(booking, "CANCEL" if booking.status == "cancelled" else "PUBLISH")
    headers = {"Content-Disposition": 'attachment; filename="discovery-call.ics"'}
    return Response(body, mimetype="text/calendar", headers=headers)


def _live(purpose: str, token: str) -> Booking:
    """The booking a link names, until its call is over: then the link has expired (410)."""
    booking = _booking_from(purpose, token)
    if booking.ends_at <= utcnow():
        abort(410)
    return booking


def _manageable(token: str) -> Booking:
    return _live("manage", token)


@bp.get("/manage/<token>")
def manage(token: str):
    """Let the patient move or cancel their call without an account."""
    booking = _manageable(token)
    form = RescheduleForm(formdata=None)
    form.date.data = request.args.get("date", "")
    return _render_manage(booking, token, form)


@bp.post("/manage/<token>/reschedule")
@limiter.limit(_booking_limit, exempt_when=_only_showing_times)
def reschedule(token: str):
    """Move the call to another free time at the same clinic."""
    booking = _manageable(token)
    form = RescheduleForm()
    if request.form.get("action") == "times":
        return _render_manage(booking, token, form)
    valid = form.validate()
    start = read_time(form)
    if not valid or start is None or form.slot.errors:
        form.slot.errors = form.slot.errors or [picker.CHOOSE]
        return _render_manage(booking, token, form, 422)
    try:
        services.move_call(booking, start)
    except services.SlotUnavailable as refusal:
        booking = _manageable(token)  # reloaded: the failed move was rolled back
        return _render_manage(booking, token, form, 409, picker.refuse(form, refusal))
    return redirect(url_for("booking.manage", token=token, done="moved"), 303)


@bp.post("/manage/<token>/cancel")
@limiter.limit(_booking_limit)
def cancel(token: str):
    """Ask once more, then cancel the call and free its slot."""
    booking = _manageable(token)
    if not CancelForm().validate():
        abort(400)
    if request.form.get("confirm") != "yes":
        return _render_manage(booking, token, RescheduleForm(formdata=None), confirm_cancel=True)
    services.cancel_call(booking)
    return redirect(url_for("booking.manage", token=token, done="cancelled"), 303)


def _render_manage(booking, token, form, status=200, alternatives=(), confirm_cancel=False):
    context = picker.context(form, catalogue.by_id(booking.clinic_id), alternatives=alternatives)
    return render_template(
        "booking/manage.html",
        booking=booking,
        token=token,
        cancel_form=CancelForm(),
        done=request.args.get("done"),
        confirm_cancel=confirm_cancel,
        **context,
    ), status
