"""Template helpers shared by every feature's pages."""

from urllib.parse import urlencode

import phonenumbers
from flask import Flask, current_app, has_request_context, request

from clinic import uktime
from clinic.absolute_urls import absolute_url


def book_url(clinic: str | None = None, source: str | None = None) -> str:
    """Link to the booking form, preselecting a clinic or recording the source article."""
    params = {k: v for k, v in (("clinic", clinic), ("from", source)) if v}
    return "/book" + (f"?{urlencode(params)}" if params else "")


def phone_display(value: str | None) -> str:
    """Show a stored E.164 number the way people write it: 07911 123456 in the UK (where the
    clinic and most callers are), +33 1 23 45 67 89 for a number abroad."""
    try:
        number = phonenumbers.parse(value or "")
    except phonenumbers.NumberParseException:
        return value or ""
    style = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(
        number, style.NATIONAL if number.country_code == 44 else style.INTERNATIONAL
    )


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(book_url=book_url, absolute_url=absolute_url)
    app.jinja_env.filters.update(
        uk_date=uktime.date_text,
        uk_day_time=uktime.day_time,
        uk_iso=uktime.iso,
        uk_clock=uktime.clock,
        uk_short=uktime.short,
        phone_display=phone_display,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def site():
        config = current_app.config
        return {
            "site": {
                "name": config["CLINIC_NAME"],
                "phone": config["CLINIC_PHONE"],
                "phone_href": "tel:" + config["CLINIC_PHONE"].replace(" ", ""),
                "email": config["CLINIC_EMAIL"],
                "phone_hours": config["CLINIC_PHONE_HOURS"],
                "base_url": config["CLINIC_BASE_URL"],
            },
            "canonical_url": config["CLINIC_BASE_URL"]
            + (request.path if has_request_context() else "/"),
        }
