"""Staff pages for leads: the pipeline list, one lead's record, exports and erasure.

Every page that shows a person's data is audited, in the same transaction as any change.
"""

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from clinic import uktime
from clinic.accounts.roles import (
    can_export,
    export_required,
    no_store,
    require_roles,
    roles_required,
)
from clinic.audit.services import record
from clinic.booking import services as booking_services
from clinic.extensions import db
from clinic.leads import services
from clinic.leads.models import STATUS_LABELS, Lead
from clinic.leads_admin import exports, forms, privacy, queries
from clinic.templating import phone_display

# The prefix is /admin, not /admin/leads, so that the CSV can live at /admin/leads.csv.
bp = Blueprint("leads_admin", __name__, url_prefix="/admin")
bp.before_request(require_roles("staff"))
bp.after_request(no_store)


@bp.context_processor
def helpers() -> dict:
    """Give the leads templates their formatting helpers and the status labels."""
    return {
        "uk_short": uktime.short,
        "machine_time": uktime.iso,
        "phone_display": phone_display,
        "status_labels": STATUS_LABELS,
        **booking_services.call_helpers(),
        "can_export": can_export,
    }


def _filter_from_request() -> tuple[queries.LeadFilter, list[str]]:
    slugs = {slug for slug, _name in queries.clinic_choices()}
    return queries.parse_filter(request.args, slugs)


@bp.get("/leads")
def index():
    """List leads, filtered, searched, sorted and paged, with a count for each status."""
    lead_filter, problems = _filter_from_request()
    results = queries.page_of_leads(lead_filter)
    # Who saw whom: the filter (not the search words) and the ids of the leads on the page.
    leads = ",".join(str(row.lead.id) for row in results.rows)
    record("leads_listed", "lead", None, f"{lead_filter.describe()} leads={leads or 'none'}")
    page = render_template(
        "leads_admin/index.html",
        filter=lead_filter,
        problems=problems,
        results=results,
        counts=results.counts,
        search_count_limit=queries.SEARCH_COUNT_LIMIT,
        choices=queries.filter_choices(lead_filter),
        sorts=queries.SORTS,
        page_numbers=queries.page_numbers(results.page, results.pages),
    )
    # Render first: committing expires the loaded rows, and reloading them costs a query each.
    db.session.commit()
    return page


@bp.get("/leads.csv")
@export_required
def export_csv():
    """Download every lead that matches the current filter, search and sort, as CSV (admins,
    and staff an admin allowed)."""
    lead_filter, _problems = _filter_from_request()
    export = exports.LeadsExport(lead_filter)
    try:  # audited before the first byte leaves, so a download cut short is on record
        record("leads_exported", "lead", None, f"{lead_filter.describe()} rows={export.total}")
        db.session.commit()
    except BaseException:
        export.close()
        raise
    name = f"leads-{uktime.today():%Y-%m-%d}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    # No stream_with_context: the rows come from the export's own connection, so the request
    # context and its session end here rather than staying open for the whole download.
    response = Response(export.chunks(), mimetype="text/csv", headers=headers)
    response.call_on_close(export.close)  # also when the stream never started
    return response


@bp.route("/leads/new", methods=["GET", "POST"])
def new_lead():
    """Add a person who phoned, with the consent they gave on the phone; then book their call."""
    form = forms.PhonedLeadForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("leads_admin/new.html", form=form), status
    try:
        lead = services.add_by_phone(
            form.email.data, form.name.data, form.phone.data, actor=current_user.email
        )
    except services.LeadExists as known:
        return _to_known_lead(known.lead_id)
    except IntegrityError:  # someone else added this e-mail address a moment ago
        db.session.rollback()
        return _to_known_lead(queries.lead_id_by_email(form.email.data))
    db.session.commit()
    flash(f"{lead.name} is added. Now choose the time of their call.")
    return redirect(url_for("booking_admin.new_call", lead_id=lead.id), 303)


def _to_known_lead(lead_id: int | None):
    if lead_id is None:  # the other insert was rolled back after all
        flash("Nothing was saved. Please send the form again.")
        return redirect(url_for(".new_lead"), 303)
    flash(
        "A lead with this e-mail address already exists, so nothing was added or changed. "
        "Check the details with the person, then book their call from this page."
    )
    return redirect(url_for(".detail", lead_id=lead_id), 303)


@bp.get("/leads/<int:lead_id>")
def detail(lead_id: int):
    """Show one lead: contact, calls, attribution, consent, pipeline and timeline."""
    return _render_detail(db.get_or_404(Lead, lead_id))


@bp.post("/leads/<int:lead_id>/status")
def change_status(lead_id: int):
    """Move the lead along the pipeline and give it an owner."""
    lead = db.get_or_404(Lead, lead_id)
    form = forms.StatusForm()
    form.set_owners(queries.owner_choices(lead))
    if not lead.erased_at and not form.validate():
        return _render_detail(lead, 422, status_form=form)
    return _apply(
        lead,
        "pipeline",
        "Status and owner saved.",
        lambda: services.change_pipeline(
            lead, form.status.data, form.owner_id, actor=current_user.email
        ),
    )


@bp.post("/leads/<int:lead_id>/contact")
def correct_contact(lead_id: int):
    """Correct the person's name or phone, as they asked (audited, on the timeline)."""
    lead = db.get_or_404(Lead, lead_id)
    form = forms.ContactForm()
    if not lead.erased_at and not form.validate():
        return _render_detail(lead, 422, contact_form=form)
    return _apply(
        lead,
        "contact",
        "Contact details saved.",
        lambda: services.correct_contact(
            lead, form.name.data, form.phone.data, actor=current_user.email
        ),
    )


@bp.post("/leads/<int:lead_id>/notes")
def add_note(lead_id: int):
    """Add a note to the lead's timeline."""
    lead = db.get_or_404(Lead, lead_id)
    form = forms.NoteForm()
    if not lead.erased_at and not form.validate():
        return _render_detail(lead, 422, note_form=form)
    return _apply(
        lead,
        "timeline",
        "Note added.",
        lambda: services.add_note(lead, form.note.data, actor=current_user.email),
    )


def _apply(lead: Lead, section: str, saved: str, change):
    """Run a rule that changes the lead (and audits it) and returns what changed (or "");
    commit it, and go back to the page's section."""
    try:
        detail = change()
    except services.LeadErased:
        return _refuse_erased(lead)
    if not detail:
        flash("Nothing changed.")
        return _back_to(lead, section)
    db.session.commit()
    flash(saved)
    return _back_to(lead, section)


@bp.get("/leads/<int:lead_id>/export.json")
@export_required
def export_json(lead_id: int):
    """Download everything stored about this person, for a subject access request (admins, and
    staff an admin allowed)."""
    lead = db.get_or_404(Lead, lead_id)
    body = privacy.subject_access(lead)
    db.session.commit()
    headers = {"Content-Disposition": f'attachment; filename="lead-{lead_id}.json"'}
    return Response(body, mimetype="application/json", headers=headers)


@bp.post("/leads/<int:lead_id>/erase")
@roles_required("admin")
def erase(lead_id: int):
    """Erase the person's details for good, keeping the counts (admins only)."""
    lead = db.get_or_404(Lead, lead_id)
    form = forms.EraseForm()
    if not form.validate():
        return _render_detail(lead, 422, erase_form=form)
    if lead.erased_at:
        flash("This lead was already erased.")
        return _back_to(lead)
    privacy.erase_lead(lead)
    db.session.commit()
    flash(f"Lead #{lead.id} is erased: the person's details are gone, the counts remain.")
    return _back_to(lead)


def _render_detail(lead: Lead, status: int = 200, **bound_forms):
    """Render a lead's page (a form that failed keeps its input and errors); audit the view."""
    status_form = bound_forms.get("status_form") or forms.StatusForm(
        formdata=None, data={"status": lead.status, "owner": str(lead.owner_id or "")}
    )
    status_form.set_owners(queries.owner_choices(lead))
    failed = next(iter(bound_forms.values()), None)
    record("lead_viewed", "lead", lead.id)
    page = render_template(
        "leads_admin/detail.html",
        lead=lead,
        bookings=queries.bookings_of(lead.id),
        timeline=queries.timeline(lead),
        owner_email=services.owner_emails({lead.owner_id}).get(lead.owner_id),
        status_form=status_form,
        failed_form=failed,
        note_form=bound_forms.get("note_form") or forms.NoteForm(formdata=None),
        contact_form=bound_forms.get("contact_form")
        or forms.ContactForm(formdata=None, data={"name": lead.name, "phone": lead.phone}),
        erase_form=bound_forms.get("erase_form") or forms.EraseForm(formdata=None),
    )
    db.session.commit()
    return page, status


def _back_to(lead: Lead, section: str | None = None):
    return redirect(url_for(".detail", lead_id=lead.id, _anchor=section), 303)


def _refuse_erased(lead: Lead):
    flash("This lead is erased: its record can no longer change.")
    return _back_to(lead)
