"""The editors for clinics (opening hours and closures) and people (authors, reviewers)."""

from functools import partial

from flask import render_template, request

from clinic.content import (
    editing,
    presence,
    revisions,
)
from clinic.content.admin import bp
from clinic.content.admin.common import (
    first_input_id,
    item_or_404,
    open_version,
    others_editing,
    refused,
    saved,
)
from clinic.content.forms import (
    ClinicForm,
    PersonForm,
    closure_dates,
    error_list,
)
from clinic.content.hours import DAY_NAMES
from clinic.content.models import Clinic


def _save_or_refuse(kind: str, item, form, editor, message: str):
    """Save a clinic or a person once its slug is free and no one saved it unseen meanwhile;
    otherwise show the editor again (`editor(item, form, status, conflict)`)."""
    values = form.values()
    if editing.slug_taken(kind, values["slug"], item.id if item else None):
        form.slug.errors.append(f"Another {kind} already uses this slug. Choose another.")
        return editor(item, form, 422)
    target = item or editing.MODELS[kind]()
    version = form.expected_version() if item else None
    save = partial(editing.save, kind, target, values, version=version)
    if conflict := refused(kind, item, form, values, save):
        return editor(item, form, 409, conflict)
    return saved(kind, target, message)


def _clinic_data(item: Clinic | None) -> dict:
    days = [{"opens": None, "closes": None, "opens2": None, "closes2": None} for _ in DAY_NAMES]
    if item is None:
        return {"hours": days}
    lists = ("hours", "closures", "holiday_openings")
    data = {name: getattr(item, name) for name in revisions.FIELDS["clinic"] if name not in lists}
    for period in item.hours:
        day = days[period.weekday]
        keys = ("opens", "closes") if day["opens"] is None else ("opens2", "closes2")
        day[keys[0]], day[keys[1]] = period.opens, period.closes
    data["hours"] = days
    data["closures"] = [
        {"starts_on": c.starts_on, "ends_on": c.ends_on, "reason": c.reason} for c in item.closures
    ]
    data["holiday_openings"] = [opening.day.isoformat() for opening in item.holiday_openings]
    return data


@bp.route("/clinics/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/clinics/<int:item_id>", methods=["GET", "POST"])
def edit_clinic(item_id: int | None):
    """Create or edit a clinic with its opening hours and closures (booking uses them at once)."""
    item = item_or_404("clinic", item_id) if item_id else None
    form = ClinicForm(data=_clinic_data(item)) if request.method == "GET" else ClinicForm()
    if request.method == "GET":
        open_version("clinic", item, form)
    adding = request.form.get("action") == "add-closures"
    focus = None
    if (len(form.closures) == 0 or adding) and not form.closures.full:
        form.closures.append_entry()
        focus = first_input_id(form.closures[-1]) if adding else None
    if request.method == "GET" or adding:
        return _clinic_editor(item, form, focus=focus)
    if not form.validate():
        return _clinic_editor(item, form, 422)
    message = "Clinic saved. Booking times follow the new hours now."
    return _save_or_refuse("clinic", item, form, _clinic_editor, message)


def _clinic_editor(item, form, status=200, conflict=None, focus=None):
    return render_template(
        "content_admin/clinic.html",
        kind="clinic",
        section="clinics",
        item=item,
        form=form,
        errors=error_list(form),
        days=DAY_NAMES,
        conflict=conflict,
        focus=focus,
        closure_dates=closure_dates(),
        others=others_editing("clinic", item),
        minutes_ago=presence.minutes_ago,
    ), status


@bp.route("/people/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/people/<int:item_id>", methods=["GET", "POST"])
def edit_person(item_id: int | None):
    """Create or edit an author or medical reviewer."""
    item = item_or_404("person", item_id) if item_id else None
    data = {name: getattr(item, name) for name in revisions.FIELDS["person"]} if item else {}
    form = PersonForm(data=data) if request.method == "GET" else PersonForm()
    if request.method == "GET":
        open_version("person", item, form)
    if request.method == "GET" or not form.validate():
        return _person_editor(item, form, 200 if request.method == "GET" else 422)
    return _save_or_refuse("person", item, form, _person_editor, "Saved.")


def _person_editor(item, form, status=200, conflict=None):
    return render_template(
        "content_admin/person.html",
        kind="person",
        section="people",
        item=item,
        form=form,
        errors=error_list(form),
        conflict=conflict,
        others=others_editing("person", item),
        minutes_ago=presence.minutes_ago,
    ), status
