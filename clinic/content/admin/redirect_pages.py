"""Redirects by hand: list, add, change and delete."""

from functools import partial

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from clinic.content import (
    presence,
    redirects,
)
from clinic.content.admin import bp
from clinic.content.admin.common import (
    opened,
    others_editing,
    refused,
)
from clinic.content.forms import (
    ConfirmForm,
    RedirectForm,
    error_list,
)
from clinic.content.models import Redirect
from clinic.content.redirects import RedirectError
from clinic.extensions import db


@bp.route("/redirects/", methods=["GET", "POST"])
def redirects_index():
    """List every redirect and add one by hand."""
    form = RedirectForm()
    if form.validate_on_submit():
        try:
            redirects.save(form.old_path.data, form.new_path.data, current_user.email, by_hand=True)
        except RedirectError as error:
            form[error.field].errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Redirect added: {form.old_path.data.strip()}.")
            return redirect(url_for("content_admin.redirects_index"), 303)
    return render_template(
        "content_admin/redirects.html",
        form=form,
        errors=error_list(form),
        items=redirects.all_redirects(),
    ), 422 if form.errors else 200


@bp.route("/redirects/<int:redirect_id>", methods=["GET", "POST"])
def edit_redirect(redirect_id: int):
    """Change where a redirect points (or which path it answers)."""
    item = db.session.get(Redirect, redirect_id) or abort(404)
    form = RedirectForm(data=opened(item, "old_path", "new_path"))
    conflict = None
    if form.validate_on_submit():
        try:
            conflict = _save_by_hand(item, form)
        except RedirectError as error:
            form[error.field].errors.append(str(error))
        else:
            if conflict is None:
                db.session.commit()
                flash("Redirect saved.")
                return redirect(url_for("content_admin.redirects_index"), 303)
    return _redirect_page(item, form, conflict)


def _save_by_hand(item: Redirect, form: RedirectForm):
    """Save the typed paths from the version the editor opened; return the conflict if
    someone saved the redirect since (RedirectError if the paths are refused)."""
    values = {"old_path": form.old_path.data, "new_path": form.new_path.data}
    save = partial(
        redirects.save,
        values["old_path"],
        values["new_path"],
        current_user.email,
        item,
        by_hand=True,
        version=form.expected_version(),
    )
    return refused("redirect", item, form, values, save)


def _redirect_page(item: Redirect, form: RedirectForm, conflict):
    return render_template(
        "content_admin/redirect.html",
        form=form,
        item=item,
        errors=error_list(form),
        delete_form=ConfirmForm(formdata=None),
        conflict=conflict,
        others=others_editing("redirect", item),
        minutes_ago=presence.minutes_ago,
    ), 409 if conflict else 422 if form.errors else 200


@bp.post("/redirects/<int:redirect_id>/delete")
def delete_redirect(redirect_id: int):
    """Delete a redirect: its old path answers 404 again."""
    item = db.session.get(Redirect, redirect_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    old_path = item.old_path
    redirects.delete(item)
    db.session.commit()
    flash(f"Redirect from {old_path} deleted.")
    return redirect(url_for("content_admin.redirects_index"), 303)
