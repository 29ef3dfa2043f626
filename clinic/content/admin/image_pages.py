"""Uploaded images: upload (up to the size limit), alternative text, delete."""

from functools import partial

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.content import (
    images,
    presence,
)
from clinic.content.admin import bp
from clinic.content.admin.common import (
    opened,
    others_editing,
    refused,
)
from clinic.content.forms import (
    ConfirmForm,
    ImageAltForm,
    ImageForm,
    error_list,
)
from clinic.content.models import Image
from clinic.errors import message_page
from clinic.extensions import db

UPLOAD_LIMIT = images.MAX_BYTES + 256 * 1024  # the file plus the other form fields


@bp.url_value_preprocessor
def _limit_upload_size(endpoint, _values) -> None:
    # Runs before CSRF reads the body: only the image upload may send megabytes.
    if endpoint == "content_admin.images_index" and request.method == "POST":
        request.max_content_length = UPLOAD_LIMIT


@bp.errorhandler(413)
def _upload_too_large(_error):
    # Raised while CSRF read the body, before the role check: check the role here too.
    if not current_user.is_authenticated or current_user.role not in ("admin", "marketer"):
        return message_page(413)
    form = ImageForm(formdata=None)
    form.file.errors = [f"The file is larger than {images.MAX_BYTES // (1024 * 1024)} MB."]
    return _images_page(form, 413)


@bp.route("/images/", methods=["GET", "POST"])
def images_index():
    """List the uploaded images and upload a new one (alternative text required)."""
    form = ImageForm()
    if not form.validate_on_submit():
        return _images_page(form, 422 if form.is_submitted() else 200)
    data = form.file.data.read(images.MAX_BYTES + 1)
    try:
        image = images.save_upload(data, form.file.data.filename, form.alt.data, current_user.email)
    except images.ImageError as error:
        form.file.errors = [str(error)]
        return _images_page(form, 422)
    db.session.commit()
    flash(f"Uploaded. Put it in an article with: {images.markdown_snippet(image)}")
    return redirect(url_for("content_admin.images_index"), 303)


def _images_page(form, status):
    return render_template(
        "content_admin/images.html",
        form=form,
        errors=error_list(form),
        items=images.all_images(),
        snippet=images.markdown_snippet,
        file_name=images.file_name,
        max_megabytes=images.MAX_BYTES // (1024 * 1024),
    ), status


@bp.route("/images/<int:image_id>", methods=["GET", "POST"])
def edit_image(image_id: int):
    """Change an image's alternative text, or delete the image."""
    item = db.session.get(Image, image_id) or abort(404)
    form = ImageAltForm(data=opened(item, "alt"))
    conflict = None
    if form.validate_on_submit():
        values = {"alt": form.alt.data.strip()}
        save = partial(images.set_alt, item, values["alt"], form.expected_version())
        if (conflict := refused("image", item, form, values, save)) is None:
            db.session.commit()
            flash("Alternative text saved.")
            return redirect(url_for("content_admin.images_index"), 303)
    return render_template(
        "content_admin/image.html",
        form=form,
        item=item,
        errors=error_list(form),
        delete_form=ConfirmForm(formdata=None),
        snippet=images.markdown_snippet(item),
        file_name=images.file_name,
        conflict=conflict,
        others=others_editing("image", item),
        minutes_ago=presence.minutes_ago,
    ), 409 if conflict else 422 if form.errors else 200


@bp.post("/images/<int:image_id>/delete")
def delete_image(image_id: int):
    """Delete an image and its files."""
    item = db.session.get(Image, image_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    images.delete(item)
    db.session.commit()
    flash("Image deleted.")
    return redirect(url_for("content_admin.images_index"), 303)
