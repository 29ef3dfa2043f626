"""Staff pages for the outbox: every e-mail with its delivery state, and a way to retry it."""

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice

from clinic.accounts.roles import no_store, require_roles
from clinic.admin import keyset
from clinic.audit.services import record
from clinic.extensions import db
from clinic.notifications import outbox
from clinic.notifications.models import STATUSES, OutboxMessage
from clinic.untrusted_urls import local_path

bp = Blueprint("notifications_admin", __name__, url_prefix="/admin/emails")
bp.before_request(require_roles("staff"))
bp.after_request(no_store)

PER_PAGE = 25
STATUS_LABELS = {
    "pending": "Waiting",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


class EmailFilter(FlaskForm):
    """Which e-mails to list: read from the query string, so no CSRF token."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[
            SelectChoice("", "Any status"),
            *(SelectChoice(s, STATUS_LABELS[s]) for s in STATUSES),
        ],
        default="",
    )


class RetryForm(FlaskForm):
    next = HiddenField()


@bp.get("")
def index():
    """List e-mails newest first with their delivery state, filtered by status."""
    form = EmailFilter(request.args)
    if not form.validate():
        return _render_index(form, page=None), 422
    query = sa.select(OutboxMessage)
    if form.status.data:
        query = query.where(OutboxMessage.status == form.status.data)
    keys = (OutboxMessage.created_at, OutboxMessage.id)
    page = keyset.paginate(query, keys, request.args, PER_PAGE)
    # Recipients are personal data: record who looked, with the filter and the leads whose
    # e-mails were listed, but not the addresses.
    leads = ",".join(map(str, dict.fromkeys(m.lead_id for m in page.items if m.lead_id)))
    shown = f"status={form.status.data or 'any'} page={page.where} leads={leads or 'none'}"
    record("emails_viewed", "lead", None, shown)
    html = _render_index(form, page=page)
    # Render first: committing expires the loaded e-mails, and reloading them costs a query each.
    db.session.commit()
    return html


def _render_index(form: EmailFilter, page) -> str:
    return render_template(
        "notifications_admin/index.html",
        form=form,
        page=page,
        status_labels=STATUS_LABELS,
        can_retry=outbox.can_retry,
    )


@bp.post("/<int:message_id>/retry")
def retry(message_id: int):
    """Send again now a failed e-mail, or one waiting after a failed try."""
    db.get_or_404(OutboxMessage, message_id)
    back = local_path(RetryForm().next.data, url_for(".index"))
    try:
        outbox.retry(message_id)
    except ValueError:
        db.session.rollback()
        return render_template(
            "admin/problem.html",
            heading="We could not send that e-mail again",
            message="Only a failed e-mail, or one waiting to try again, can be sent again. This "
            "one is being sent right now, was already sent or cancelled, or waits for its time "
            "(a reminder goes out the day before the call).",
            back_url=back,
            back_label="Back to the e-mail log",
        ), 409
    db.session.commit()
    flash(f"E-mail #{message_id} is queued to be sent again now.")
    return redirect(back, 303)
