"""Phone numbers as a UK office dials them, fast enough for a 100,000-row export.

phonenumbers takes about 70 microseconds to parse and format one number: 7 s for the whole
export. Which layout it writes depends only on the country, the number's length and which of
the country's formats its first digits select, so the layout worked out for one number is
kept and applied to the next number of the same shape by slicing (a few microseconds). A
country's layouts are kept only when its metadata shows that this holds; anything else (a
number that is not E.164, a prefix the parser would strip) takes the full library path.
"""

import re
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat

E164 = re.compile(r"\+([1-9][0-9]{1,14})")
UK = 44
# A pattern such as (\d{3})(\d{4}) once its digit classes and counts are taken out.
_DIGIT_CLASSES = re.compile(r"\\d|\{[0-9]+(?:,[0-9]*)?\}|\[0-9\]")
_GROUP_REFS = re.compile(r"\\([0-9])")

# A layout: literal text and (start, end) slices of the national number, in output order.
Layout = tuple[str | tuple[int, int], ...]
# (country, format chosen, length) -> layout; a few hundred shapes at most.
_layouts: dict[tuple[int, int, int], Layout | None] = {}
# A country's formats in the order phonenumbers tries them, as one pattern whose last group
# (f0, f1, ...) names the format that fits.
Formats = re.Pattern


def dialable(phone: str | None) -> str:
    """Write a stored E.164 number as a UK office dials it (07911 123456, or 0033 1 23 45 67 89
    abroad): a spreadsheet keeps it as text, with no leading ' to strip before dialling."""
    if not phone:
        return ""
    shape = _shape(phone)
    if shape is None:
        return library_dialable(phone)
    key, national = shape
    if key not in _layouts:
        _layouts[key] = _layout(library_dialable(phone), national)
    layout = _layouts[key]
    if layout is None:
        return library_dialable(phone)
    return "".join(
        part if isinstance(part, str) else national[part[0] : part[1]] for part in layout
    )


def library_dialable(phone: str) -> str:
    """The same, through phonenumbers alone (the reference the fast path must equal)."""
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return phone
    if number.country_code == UK:  # the UK (and the islands that share its numbering)
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    international = PhoneNumberFormat.INTERNATIONAL
    return "00" + phonenumbers.format_number(number, international).removeprefix("+")


def _shape(phone: str) -> tuple[tuple[int, int, int], str] | None:
    """Return ((country, format, length), national number), or None when the fast path cannot
    be trusted for this number."""
    match = E164.fullmatch(phone)
    if not match:
        return None
    digits = match.group(1)
    for length in (1, 2, 3):
        country = int(digits[:length])
        if country in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return _national_shape(country, digits[length:])
    return None


def _national_shape(country: int, national: str) -> tuple[tuple[int, int, int], str] | None:
    rules = _country_rules(country)
    if rules is None or not national or national[0] == "0":
        return None
    formats, strip = rules
    if strip is not None and strip.match(national):
        return None  # parse() might take this for a national prefix and remove it
    # The same choice as phonenumbers' _choose_formatting_pattern_for_number: the first format
    # whose leading digits match and whose pattern fits the whole number.
    chosen = formats.match(national)
    index = int(chosen.lastgroup.removeprefix("f")) if chosen else -1
    return (country, index, len(national)), national


@cache
def _country_rules(country: int) -> tuple[Formats, re.Pattern | None] | None:
    """Return the country's formats and the national prefix its parser strips, when every
    layout depends only on the format chosen and the length; else None."""
    region = phonenumbers.region_code_for_country_code(country)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country, region)
    if metadata is None:
        return None
    formats = metadata.number_format
    if country != UK and metadata.intl_number_format:
        formats = metadata.intl_number_format  # as phonenumbers does for INTERNATIONAL
    alternatives = []
    for index, number_format in enumerate(formats):
        if re.search("[0-9]", _DIGIT_CLASSES.sub("", number_format.pattern)):
            return None  # a pattern that names digits, not only counts them
        if not _digits_in_order(number_format):
            return None
        leading = number_format.leading_digits_pattern
        ahead = f"(?={leading[-1]})" if leading else ""
        alternatives.append(f"{ahead}(?:{number_format.pattern})\\Z(?P<f{index}>)")
    strip = metadata.national_prefix_for_parsing
    return re.compile("|".join(alternatives)), re.compile(strip) if strip else None


def _digits_in_order(number_format) -> bool:
    """Whether the layout writes the number's groups in order, with digits of its own only
    before the first group (a national prefix such as the 0 of 020)."""
    references = _GROUP_REFS.findall(number_format.format)
    if references != sorted(references) or re.search(
        "[0-9]", _GROUP_REFS.sub("", number_format.format)
    ):
        return False
    rule = number_format.national_prefix_formatting_rule or ""
    return not re.search("[0-9]", rule.partition("\\1")[2])


def _layout(written: str, national: str) -> Layout | None:
    """Return how `written` is made of `national`'s digits: its digits must be a prefix (such
    as the 0 of 07911 or the 0033 of France) followed by every digit of the number in order."""
    digits = re.sub("[^0-9]", "", written)
    if not digits.endswith(national):
        return None
    prefix_digits = len(digits) - len(national)
    parts: list[str | tuple[int, int]] = []
    seen = index = 0
    for char in written:
        if char.isdigit() and seen >= prefix_digits:
            if parts and isinstance(parts[-1], tuple) and parts[-1][1] == index:
                parts[-1] = (parts[-1][0], index + 1)
            else:
                parts.append((index, index + 1))
            index += 1
        elif parts and isinstance(parts[-1], str):
            parts[-1] += char
        else:
            parts.append(char)
        seen += char.isdigit()
    return tuple(parts)
