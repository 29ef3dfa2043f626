"""Uploaded images: checked by their content, resized to a few widths, stored outside the code.

Files are WebP named `<name>-<width>.webp` in CLINIC_UPLOAD_DIR (instance/uploads by
default) and served from /media/. Markdown uses them as `![alt](/media/<name>-960.webp)`;
the rendered <img> gets its width, height, a srcset and, when left empty, the stored alt.
"""

import io
import os
import re
import secrets
import warnings
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app
from markupsafe import Markup
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from clinic.audit.services import record
from clinic.content import markdown
from clinic.content.models import Image
from clinic.content.versions import claim, refused_if_stale
from clinic.extensions import db

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 5 MB file can decode to gigabytes: refuse before decoding
WIDTHS = (480, 960, 1440)
FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
SIZES = "(min-width: 48rem) 46rem, 100vw"
FILE_NAME = re.compile(r"^(?P<name>[a-z0-9-]{1,80})-(?P<width>\d{1,5})\.webp$")
_MEDIA_IMG = re.compile(r'<img src="/media/(?P<file>[a-z0-9-]+-\d{1,5}\.webp)"(?P<rest>[^>]*)>')


class ImageError(ValueError):
    """A file that is not an image we accept; the message is for the person who sent it."""


def configure(app: Flask) -> None:
    """Read CLINIC_UPLOAD_DIR once, when the app is built (a test may have set it already)."""
    default = os.environ.get("CLINIC_UPLOAD_DIR") or str(Path(app.instance_path) / "uploads")
    app.config.setdefault("CLINIC_UPLOAD_DIR", default)


def upload_dir() -> Path:
    return Path(current_app.config["CLINIC_UPLOAD_DIR"])


def open_checked(data: bytes) -> PILImage.Image:
    """Open an upload as JPEG, PNG or WebP judged by its bytes, never by its file name."""
    if len(data) > MAX_BYTES:
        raise ImageError(f"The image is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            picture = PILImage.open(io.BytesIO(data), formats=list(FORMATS))
            if picture.width * picture.height > MAX_PIXELS:
                raise ImageError("The image has too many pixels. Use one under 40 megapixels.")
            picture.load()
    except (UnidentifiedImageError, PILImage.DecompressionBombError, OSError, SyntaxError):
        raise ImageError("The file is not a JPEG, PNG or WebP image.") from None
    except PILImage.DecompressionBombWarning:
        raise ImageError("The image has too many pixels. Use one under 40 megapixels.") from None
    return picture


def _clean(picture: PILImage.Image) -> PILImage.Image:
    """Turn the picture upright and copy only its pixels: EXIF (camera, GPS) is left behind."""
    upright = ImageOps.exif_transpose(picture)
    mode = "RGBA" if upright.mode in ("RGBA", "LA", "P", "PA") else "RGB"
    pixels = upright.convert(mode)
    clean = PILImage.new(mode, pixels.size)
    clean.paste(pixels)
    return clean


def widths_for(width: int) -> list[int]:
    """Return the widths to store: the standard ones up to the original, never enlarged."""
    fitting = [w for w in WIDTHS if w <= width]
    return fitting or [width]


def _slug(filename: str) -> str:
    stem = Path(filename or "image").stem.lower()
    return re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:40] or "image"


def save_upload(data: bytes, filename: str, alt: str, user_email: str) -> Image:
    """Check, resize and store an upload; add its row and an audit entry (flushed)."""
    picture = _clean(open_checked(data))
    name = f"{_slug(filename)}-{secrets.token_hex(5)}"
    widths = widths_for(picture.width)
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for width in widths:
        height = max(1, round(picture.height * width / picture.width))
        resized = picture.resize((width, height), PILImage.Resampling.LANCZOS)
        _write_atomically(folder / f"{name}-{width}.webp", resized)
    image = Image(
        name=name,
        alt=alt.strip(),
        width=picture.width,
        height=picture.height,
        widths=widths,
        created_by=user_email,
    )
    db.session.add(image)
    db.session.flush()
    record("image_upload", "image", image.id, detail=name)
    return image


def _write_atomically(path: Path, picture: PILImage.Image) -> None:
    temporary = path.with_suffix(".tmp")
    picture.save(temporary, "WEBP", quality=82, method=4)
    os.replace(temporary, path)


def file_name(image: Image, width: int) -> str:
    return f"{image.name}-{width}.webp"


def default_width(image: Image) -> int:
    """The width to put in Markdown: 960 when there is one, else the widest stored."""
    fitting = [w for w in image.widths if w <= 960]
    return max(fitting) if fitting else min(image.widths)


def markdown_snippet(image: Image) -> str:
    return f"![{image.alt}](/media/{file_name(image, default_width(image))})"


def delete(image: Image) -> None:
    """Delete the row and the files (pages still naming them will show the alt text)."""
    record("image_delete", "image", image.id, detail=image.name)
    for width in image.widths:
        (upload_dir() / file_name(image, width)).unlink(missing_ok=True)
    db.session.delete(image)
    db.session.flush()


def set_alt(image: Image, alt: str, version: int) -> None:
    """Change an image's alternative text, from the version the editor opened (else
    EditConflict: someone saved it since)."""
    claim(image, version)
    image.alt = alt.strip()
    record("image_edit", "image", image.id, detail=image.name)
    with refused_if_stale():
        db.session.flush()


def all_images() -> list[Image]:
    return list(db.session.scalars(sa.select(Image).order_by(Image.created_at.desc())))


def with_dimensions(html: Markup) -> Markup:
    """Give each uploaded image in rendered HTML its width, height, srcset and alt text."""
    found = {m.group("file") for m in _MEDIA_IMG.finditer(html)}
    if not found:
        return html
    names = {FILE_NAME.match(f).group("name") for f in found}
    images = {i.name: i for i in db.session.scalars(sa.select(Image).where(Image.name.in_(names)))}

    def replace(match: re.Match) -> str:
        parts = FILE_NAME.match(match.group("file"))
        image, width = images.get(parts.group("name")), int(parts.group("width"))
        if image is None or width not in image.widths:
            return match.group(0)
        rest = match.group("rest")
        if ' alt=""' in rest or " alt=" not in rest:
            rest = rest.replace(' alt=""', "") + f' alt="{Markup.escape(image.alt)}"'
        srcset = ", ".join(f"/media/{file_name(image, w)} {w}w" for w in image.widths)
        return (
            f'<img src="/media/{match.group("file")}"{rest} width="{width}" '
            f'height="{image.height_at(width)}" srcset="{srcset}" sizes="{SIZES}" '
            'loading="lazy" decoding="async">'
        )

    return Markup(_MEDIA_IMG.sub(replace, str(html)))


def render(text: str) -> Markup:
    """Render Markdown to safe HTML (markdown.render) with uploaded images sized."""
    return with_dimensions(markdown.render(text))
