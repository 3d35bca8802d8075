"""Turning spreadsheet text into field values, then validating them exactly as the record service does.

A cell arrives as text; `from_text` makes the JSON-input form the API would accept for that field type
(`"yes"` -> true, `"a; b"` -> ["a", "b"], a select's label -> its value), and `clean` runs the same
coercion, whole-number, required and object rules (`before_save`) as `core.records.clean_input`, so an
imported record is stored as one typed in by hand would be.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

import phonenumbers
from phonenumbers import phonenumberutil
from phonenumbers.phonemetadata import PhoneMetadata

from sextant.core import fieldtypes as ft
from sextant.core.errors import FieldError
from sextant.core.metadata import FieldDef, ObjectView
from sextant.core.permissions import Actor
from sextant.core.records import Cleaned

TRUE = {"true", "yes", "y", "1", "x", "on", "t", "oui", "ja", "si", "sí"}
FALSE = {"false", "no", "n", "0", "off", "f", "non", "nein"}
_NUMBER_JUNK = re.compile(r"[\s$€£¥%]")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


class CellError(Exception):
    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message, self.code = message, code


def _options_lookup(fdef: FieldDef) -> dict[str, str]:
    out: dict[str, str] = {}
    for option in fdef.options or ():
        out.setdefault(str(option.get("label", "")).strip().lower(), str(option["value"]))
    for option in fdef.options or ():
        out[str(option["value"]).lower()] = str(option["value"])
    return out


class FieldReader:
    """Text -> API input value for one field (references stay text: they are resolved in batches)."""

    def __init__(self, fdef: FieldDef) -> None:
        self.fdef = fdef
        self.options = _options_lookup(fdef) if fdef.options else {}

    def __call__(self, text: str) -> Any:
        text = text.strip()
        if text == "":
            return None
        ftype = self.fdef.type
        if ftype == "single_select":
            return self.options.get(text.lower(), text)
        if ftype == "multi_select":
            sep = ";" if ";" in text else ("," if "," in text else "|" if "|" in text else None)
            items = [p.strip() for p in (text.split(sep) if sep else [text])]
            return [self.options.get(p.lower(), p) if self.options else p for p in items if p]
        if ftype == "boolean":
            low = text.lower()
            if low in TRUE:
                return True
            if low in FALSE:
                return False
            raise CellError("expected yes/no or true/false", "type")
        if ftype in ft.NUMERIC_TYPES:
            cleaned = _NUMBER_JUNK.sub("", text)
            if _DECIMAL_COMMA.match(cleaned):
                cleaned = cleaned.replace(",", ".")
            elif ("," in cleaned and "." in cleaned and cleaned.index(",") < cleaned.index(".")) or (
                "," in cleaned and re.fullmatch(r"-?\d{1,3}(,\d{3})+", cleaned)
            ):
                cleaned = cleaned.replace(",", "")
            return cleaned
        if ftype == "date" and len(text) == 8 and text.isdigit():
            return f"{text[:4]}-{text[4:6]}-{text[6:]}"
        return text


# -- the fast, exact email check ----------------------------------------------------------------------------
# email_validator costs ~20 µs a call: at a million rows that is most of the budget. A plain ASCII address
# (dot-atom local part of safe characters) at a domain email_validator has already accepted normalises to
# itself in lower case, so only the domain needs the full check, once.

_SIMPLE_LOCAL = re.compile(r"^[a-z0-9_+\-]+(\.[a-z0-9_+\-]+)*$")


@lru_cache(maxsize=100_000)
def _domain_ok(domain: str) -> bool:
    try:
        return ft.normalise_email(f"a@{domain}") == f"a@{domain}"
    except ft.ValueError_:
        return False


def normalise_email(value: str) -> str:
    low = value.lower()
    local, at, domain = low.partition("@")
    if at and len(local) <= 64 and _SIMPLE_LOCAL.match(local) and "@" not in domain and _domain_ok(domain):
        return low
    return ft.normalise_email(value)


# E.164 number -> its national digits, as `core.search` indexes them: one parse serves both.
NATIONAL: dict[str, str] = {}


# An E.164 number ("+" and digits) is most of what an export from another system holds. phonenumbers.parse
# spends most of its time finding and normalising the number inside free text; for "+digits" only these
# steps of it do anything: the country code (the first 1-3 digits that name one), the national prefix
# (stripped when what remains has a possible length, as parse does) and the leading zeros. They are done
# here with phonenumbers' own functions and metadata, and anything else takes the full parse (a test
# compares both on a quarter million numbers over every country code).
_E164_SHAPE = re.compile(r"\+[1-9][0-9]{2,17}")
_KEEP_PREFIX = (
    phonenumberutil.ValidationResult.TOO_SHORT,
    phonenumberutil.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    phonenumberutil.ValidationResult.INVALID_LENGTH,
)


@cache
def _metadata(country_code: int) -> Any:
    region = phonenumberutil.region_code_for_country_code(country_code)
    return PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)


def _parse_e164(value: str) -> phonenumbers.PhoneNumber | None:
    """phonenumbers.parse(value) for "+digits" input, or None when the full parse must decide."""
    if not _E164_SHAPE.fullmatch(value):
        return None
    digits = value[1:]
    for width in (1, 2, 3):
        country_code = int(digits[:width])
        if country_code in phonenumberutil.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[width:]
    metadata = _metadata(country_code)
    if metadata is None or len(national) < 2:
        return None
    _carrier, stripped, _ = phonenumberutil._maybe_strip_national_prefix_carrier_code(national, metadata)
    if phonenumberutil._test_number_length(stripped, metadata) not in _KEEP_PREFIX:
        national = stripped
    if not 2 <= len(national) <= 17:
        return None
    parsed = phonenumbers.PhoneNumber(country_code=country_code)
    phonenumberutil._set_italian_leading_zeros_for_phone_number(national, parsed)
    parsed.national_number = int(national)
    return parsed


@lru_cache(maxsize=65_536)
def _phone(value: str, region: str) -> str:
    """`fieldtypes.normalise_phone`, parsing once and keeping the national digits for the search index."""
    parsed = _parse_e164(value)
    if parsed is not None:
        return _possible_e164(parsed)
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ft.ValueError_(f"not a valid phone number: {exc}", "invalid_phone") from exc
    return _possible_e164(parsed)


def _possible_e164(parsed: phonenumbers.PhoneNumber) -> str:
    if not phonenumbers.is_possible_number(parsed):
        raise ft.ValueError_("not a possible phone number", "invalid_phone")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if len(NATIONAL) > 200_000:
        NATIONAL.clear()
    NATIONAL[e164] = str(parsed.national_number)
    return e164


_TEXTUAL = {"text", "long_text", "email", "phone", "single_select"}


_CHOICES: dict[int, tuple[Any, frozenset[str]]] = {}


def _choices(options: tuple[dict[str, Any], ...]) -> frozenset[str]:
    """A select's values as a set, kept per options tuple (identity-checked: ids may be reused)."""
    held = _CHOICES.get(id(options))
    if held is None or held[0] is not options:
        if len(_CHOICES) > 1000:
            _CHOICES.clear()
        held = _CHOICES[id(options)] = (options, frozenset(ft.option_values(list(options))))
    return held[1]


def _check_text(value: str) -> None:
    """`fieldtypes.check_text`; ASCII text without NUL (nearly every cell) passes without encoding."""
    if not value.isascii() or "\x00" in value:
        ft.check_text(value)


def coerce(fdef: FieldDef, value: Any, region: str) -> Any:
    """`fieldtypes.coerce`, with the text, select, email and phone checks made cheap (same results)."""
    ftype = fdef.type
    if ftype in _TEXTUAL and isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
        limit = fdef.max_length or ft.DEFAULT_MAX_LENGTH.get(ftype)
        if limit and len(value) > limit:
            raise ft.ValueError_(f"must be at most {limit} characters", "too_long")
        _check_text(value)
        if ftype == "email":
            return normalise_email(value)
        if ftype == "phone":
            return _phone(value, region)
        if ftype == "single_select" and value not in _choices(fdef.options or ()):
            raise ft.ValueError_(
                f"must be one of: {', '.join(ft.option_values(list(fdef.options or ())))}", "invalid_choice"
            )
        return value
    return ft.coerce(
        fdef.type,
        value,
        options=list(fdef.options) if fdef.options is not None else None,
        max_length=fdef.max_length,
        free_values=fdef.free_values,
        phone_region=region,
    )


def clean(
    session: Any,
    actor: Actor,
    view: ObjectView,
    data: dict[str, Any],
    *,
    record: Any,
    region: str,
    blank_clears: bool,
) -> Cleaned:
    """The record service's validation of one input (fields already checked writable by the mapping).

    `record` is the existing row (an object with attributes) for an update, None for a create. Blank cells
    leave an existing value alone unless `blank_clears`.
    """
    creating = record is None
    cleaned = Cleaned({}, {}, [])
    virtual_inputs, fields = view.objdef.virtual_inputs, view.fields
    for name, raw in data.items():
        if name in virtual_inputs:  # handled by the record service (activity links ...)
            cleaned.virtual[name] = raw
            continue
        fdef = fields[name]
        if raw is None and ((creating and not fdef.custom) or (not creating and not blank_clears)):
            continue  # blank: a new record's column default (as when the API omits it), or left alone
        try:
            value = coerce(fdef, raw, region)
        except ft.ValueError_ as exc:
            cleaned.errors.append(FieldError(name, exc.message, exc.code))
            continue
        if fdef.integer:
            if isinstance(value, float):
                if not value.is_integer():
                    cleaned.errors.append(FieldError(name, "expected a whole number", "type"))
                    continue
                value = int(value)
            if value is not None and abs(value) > ft.MAX_INTEGER:
                cleaned.errors.append(
                    FieldError(
                        name, f"must be between -{ft.MAX_INTEGER} and {ft.MAX_INTEGER}", "out_of_range"
                    )
                )
                continue
        if fdef.custom:
            cleaned.custom[name] = ft.to_json(fdef.type, value)
        elif creating and (value is None or value == []):
            continue  # as a blank cell
        else:
            cleaned.columns[name] = value
    custom_defaults, required = _field_lists(view)
    if creating:
        for fdef in custom_defaults:
            if fdef.name not in cleaned.custom and fdef.name not in cleaned.columns:
                cleaned.custom[fdef.name] = fdef.default
        for name in [n for n, v in cleaned.custom.items() if v is None]:
            del cleaned.custom[name]
    if view.objdef.before_save:
        view.objdef.before_save(session, actor, view, cleaned, record)
    reported = {e.field for e in cleaned.errors} if cleaned.errors else ()
    for fdef in required:
        if fdef.name in reported or actor.field_level(view.name, fdef.name) != "edit":
            continue
        if cleaned.has(fdef.name):
            present = cleaned.get(fdef.name)
        elif creating:
            present = None
        else:
            present = (record.custom or {}).get(fdef.name) if fdef.custom else getattr(record, fdef.name)
        if present in (None, "", []) and (creating or cleaned.has(fdef.name)):
            cleaned.errors.append(FieldError(fdef.name, "is required", "required"))
    return cleaned


def _field_lists(view: ObjectView) -> tuple[list[FieldDef], list[FieldDef]]:
    """The view's custom fields with a default, and its required fields (kept on the view: a new view is
    built whenever field definitions change)."""
    cached = getattr(view, "_dq_field_lists", None)
    if cached is None:
        cached = (
            [f for f in view.fields.values() if f.custom and f.default is not None],
            [f for f in view.fields.values() if f.required],
        )
        view._dq_field_lists = cached  # type: ignore[attr-defined]
    return cached
