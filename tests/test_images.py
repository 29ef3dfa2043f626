"""Image uploads: sniffed type, size limits, alt text, resized widths, EXIF gone, served cached."""

import io

import pytest
import sqlalchemy as sa
from PIL import Image as PILImage
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from clinic.content import images
from clinic.content.models import Image
from clinic.extensions import db
from tests import factories
from tests.auth_helpers import login, make_users
from tests.helpers import soup
from tests.test_content_admin import audit_actions, form_data

UPLOAD = "/admin/content/images/"


@pytest.fixture
def uploads(app, tmp_path):
    app.config["CLINIC_UPLOAD_DIR"] = str(tmp_path / "uploads")
    return tmp_path / "uploads"


@pytest.fixture
def marketer(app, client, uploads):
    make_users(app)
    login(client, "marketer")
    return client


def picture(fmt: str = "PNG", size=(1600, 900), exif: bool = False) -> bytes:
    image = PILImage.new("RGB", size, (11, 93, 97))
    buffer = io.BytesIO()
    options = {}
    if exif:
        data = PILImage.Exif()
        data[0x010F] = "SpyCam"  # Make
        data[0x0112] = 1  # Orientation
        options["exif"] = data.tobytes()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def post_multipart(client, fields: dict):
    """POST multipart data encoded in memory (the test client's own encoder leaks a temp file)."""
    boundary, body = encode_multipart(MultiDict(fields))
    return client.post(UPLOAD, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, data: bytes, filename: str = "Back Stretch.png", alt: str = "A back stretch"):
    token = form_data(client.get(UPLOAD), "form[enctype]")["csrf_token"]
    fields = {"csrf_token": token, "alt": alt, "file": FileStorage(io.BytesIO(data), filename)}
    return post_multipart(client, fields)


def stored(app) -> Image:
    with app.app_context():
        return db.session.scalar(sa.select(Image))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_upload_stores_three_widths_with_dimensions(app, marketer, uploads, fmt):
    response = upload(marketer, picture(fmt), filename=f"Back Stretch.{fmt.lower()}")
    assert response.status_code == 303
    image = stored(app)
    assert (image.width, image.height, image.widths) == (1600, 900, [480, 960, 1440])
    assert image.alt == "A back stretch"
    assert image.name.startswith("back-stretch-")
    for width in (480, 960, 1440):
        with PILImage.open(uploads / f"{image.name}-{width}.webp") as saved:
            assert saved.format == "WEBP"
            assert saved.size == (width, round(900 * width / 1600))
    assert ("image_upload", "image", "marketer@example.test") in audit_actions(app)


def test_exif_is_removed(app, marketer, uploads):
    assert upload(marketer, picture("JPEG", exif=True), "photo.jpg").status_code == 303
    image = stored(app)
    with PILImage.open(uploads / f"{image.name}-480.webp") as saved:
        assert not saved.getexif()
        assert "exif" not in saved.info


def test_small_images_are_never_enlarged(app, marketer, uploads):
    assert upload(marketer, picture("PNG", size=(300, 200))).status_code == 303
    image = stored(app)
    assert image.widths == [300]
    assert (uploads / f"{image.name}-300.webp").is_file()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"<?php echo 'hi'; ?>", "photo.jpg"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "photo.jpg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "photo.png"),
        (b"", "empty.jpg"),
    ],
)
def test_wrong_type_is_refused_whatever_the_name(app, marketer, data, filename):
    response = upload(marketer, data, filename)
    assert response.status_code == 422
    assert "not a JPEG, PNG or WebP" in response.get_data(as_text=True) or (
        "Choose an image file" in response.get_data(as_text=True)
    )
    assert stored(app) is None


def test_gif_disguised_as_jpeg_is_refused(app, marketer):
    buffer = io.BytesIO()
    PILImage.new("RGB", (10, 10)).save(buffer, "GIF")
    response = upload(marketer, buffer.getvalue(), "cat.jpg")
    assert response.status_code == 422
    assert "not a JPEG, PNG or WebP" in response.get_data(as_text=True)


def test_alt_text_is_required(app, marketer):
    response = upload(marketer, picture(), alt="   ")
    assert response.status_code == 422
    assert "alternative text" in response.get_data(as_text=True)
    assert stored(app) is None


def test_too_big_is_413_with_the_form_not_500(app, marketer):
    big = b"\xff\xd8\xff" + b"0" * (images.MAX_BYTES + 512 * 1024)
    response = upload(marketer, big, "huge.jpg")
    assert response.status_code == 413
    assert "larger than 5 MB" in response.get_data(as_text=True)
    assert soup(response).select_one("form[enctype]")
    assert stored(app) is None


def test_just_over_the_limit_is_a_form_error(app, marketer):
    data = picture() + b"\0" * (images.MAX_BYTES + 10 - len(picture()))
    response = upload(marketer, data, "nearly.png")
    assert response.status_code == 422
    assert "larger than 5 MB" in response.get_data(as_text=True)


def test_too_many_pixels_is_refused(app):
    with app.app_context(), pytest.raises(images.ImageError, match="too many pixels"):
        buffer = io.BytesIO()
        PILImage.new("1", (8000, 6000)).save(buffer, "PNG")
        images.open_checked(buffer.getvalue())


def test_only_the_upload_route_takes_megabytes(app, client):
    assert app.config["MAX_CONTENT_LENGTH"] < images.MAX_BYTES
    response = client.post("/book", data={"message": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_staff_cannot_upload(app, client, uploads):
    make_users(app)
    login(client, "staff")
    assert client.get(UPLOAD).status_code == 403


def test_anonymous_big_upload_gets_a_bare_413(app, client, uploads):
    big = b"0" * (images.MAX_BYTES + 512 * 1024)
    response = post_multipart(client, {"file": FileStorage(io.BytesIO(big), "x.jpg")})
    assert response.status_code == 413
    assert "Upload an image" not in response.get_data(as_text=True)


def test_media_is_served_with_long_cache_headers(app, marketer, uploads):
    upload(marketer, picture())
    image = stored(app)
    with marketer.get(f"/media/{image.name}-960.webp") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/webp"
        assert response.cache_control.max_age == 365 * 24 * 3600
        assert response.cache_control.public and response.cache_control.immutable
        assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "name", ["../secret_key", "..%2Fsecret_key", "x.webp", "nope-960.webp", "Bad-960.webp"]
)
def test_media_refuses_other_names(app, client, uploads, name):
    assert client.get(f"/media/{name}").status_code == 404


def test_markdown_images_get_dimensions_srcset_and_alt(app, client, marketer, uploads):
    upload(marketer, picture(), alt="Stored alt text")
    image = stored(app)
    body = (
        f"## Pictures\n\n![](/media/{image.name}-960.webp)\n\n"
        f"![Own alt](/media/{image.name}-480.webp)"
    )
    with app.app_context():
        factories.article("with-image", body=body)
        db.session.commit()
    first, second = soup(client.get("/articles/with-image")).select(".prose img")
    assert (first["width"], first["height"], first["alt"]) == ("960", "540", "Stored alt text")
    assert first["srcset"].count("w,") == 2 and f"{image.name}-1440.webp 1440w" in first["srcset"]
    assert first["loading"] == "lazy"
    assert (second["width"], second["alt"]) == ("480", "Own alt")


def test_image_alt_edit_and_delete(app, marketer, uploads):
    upload(marketer, picture())
    image = stored(app)
    path = f"/admin/content/images/{image.id}"
    sent = form_data(marketer.get(path), "main form")
    token = sent["csrf_token"]
    assert marketer.post(path, data={**sent, "alt": ""}).status_code == 422
    assert marketer.post(path, data={**sent, "alt": "New alt"}).status_code == 303
    assert stored(app).alt == "New alt"
    assert marketer.post(f"{path}/delete", data={"csrf_token": token}).status_code == 303
    assert stored(app) is None
    assert not list(uploads.glob("*.webp"))
    actions = [a for a, t, _ in audit_actions(app) if t == "image"]
    assert actions == ["image_upload", "image_edit", "image_delete"]
