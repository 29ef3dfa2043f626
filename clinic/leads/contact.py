"""A person's contact details as they type them, checked and kept in one normal form: field
validators for every form that takes an e-mail address or a phone number."""

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from wtforms.validators import ValidationError


def normalise_email(form, field) -> None:
    """Check the address's syntax only (no network look-ups) and keep its normal form."""
    try:
        field.data = validate_email(field.data or "", check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValidationError(
            "Enter an e-mail address in the right format, like name@example.com."
        ) from error


def normalise_phone(form, field) -> None:
    """Accept UK numbers as people write them and international ones with +, store E.164."""
    try:
        number = phonenumbers.parse(field.data or "", "GB")
    except phonenumbers.NumberParseException as error:
        raise ValidationError(_PHONE_MESSAGE) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_PHONE_MESSAGE)
    field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PHONE_MESSAGE = (
    "Enter a phone number like 07123 456 789, or an international number starting with +."
)
