"""Field types: how a value of each type is validated, normalised, stored and turned into SQL.

One table of types serves built-in columns and custom fields alike, so a custom `number` filters, sorts,
validates and exports exactly like a built-in one.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

import phonenumbers
from email_validator import EmailNotValidError, validate_email

FIELD_TYPES: tuple[str, ...] = (
    "text",
    "long_text",
    "number",
    "currency",
    "percent",
    "date",
    "datetime",
    "boolean",
    "single_select",
    "multi_select",
    "email",
    "phone",
    "url",
    "reference",
)
NUMERIC_TYPES = {"number", "currency", "percent"}
STRINGY_TYPES = {"text", "long_text", "email", "phone", "url", "single_select"}
DEFAULT_MAX_LENGTH = {"text": 255, "long_text": 100_000, "email": 254, "phone": 40, "url": 2048}
MAX_ABS_NUMBER = 1e15  # beyond this a CRM figure is a typo, and floats lose cents
MAX_INTEGER = 2**31 - 1  # ids and INTEGER columns are 32-bit on PostgreSQL


class ValueError_(Exception):  # distinct from the builtin, caught by callers
    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def normalise_email(raw: str) -> str:
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError_(f"not a valid email address: {exc}", "invalid_email") from exc
    return result.normalized.lower()


def normalise_phone(raw: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError_(f"not a valid phone number: {exc}", "invalid_phone") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError_("not a possible phone number", "invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalise_domain(raw: str) -> str:
    """'https://WWW.Acme.com/about' -> 'acme.com'."""
    text = raw.strip().lower()
    if "://" not in text:
        text = "http://" + text
    try:
        host = (urlparse(text).hostname or "").rstrip(".")
    except ValueError as exc:  # urlparse refuses some inputs outright ("http://[x": invalid IPv6 URL)
        raise ValueError_("not a valid domain", "invalid_domain") from exc
    if host.startswith("www."):
        host = host[4:]
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError_("not a valid domain", "invalid_domain") from exc
    if not _DOMAIN_RE.match(host):
        raise ValueError_("not a valid domain", "invalid_domain")
    return host


def check_text(value: str) -> None:
    """Refuse what no database stores as text: NUL (PostgreSQL) and lone surrogates (not UTF-8)."""
    if "\x00" in value:
        raise ValueError_("must not contain NUL characters", "invalid")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError_("must be valid Unicode text", "invalid") from exc


def normalise_url(raw: str) -> str:
    text = raw.strip()
    if any(c.isspace() for c in text):
        raise ValueError_("not a valid http(s) URL", "invalid_url")
    if "://" not in text:
        text = "https://" + text
    try:
        parsed = urlparse(text)
        hostname = parsed.hostname
    except ValueError as exc:  # "http://[x": invalid IPv6 URL, bad port ...
        raise ValueError_("not a valid http(s) URL", "invalid_url") from exc
    if parsed.scheme not in ("http", "https") or not hostname or "." not in hostname:
        raise ValueError_("not a valid http(s) URL", "invalid_url")
    return text


def _number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError_("expected a number", "type")
    if isinstance(value, int):
        number: float | int = value
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str | Decimal):
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError_("expected a number", "type") from exc
        number = int(d) if d == d.to_integral_value() and abs(d) < 2**53 else float(d)
    else:
        raise ValueError_("expected a number", "type")
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError_("expected a finite number", "type")
    if abs(number) > MAX_ABS_NUMBER:
        raise ValueError_(f"must be between -{MAX_ABS_NUMBER:.0e} and {MAX_ABS_NUMBER:.0e}", "out_of_range")
    return number


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            text = value.strip()
            return date.fromisoformat(text[:10]) if len(text) == 10 else date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError_("expected a date as YYYY-MM-DD", "type") from exc
    raise ValueError_("expected a date as YYYY-MM-DD", "type")


def parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError_("expected an ISO 8601 date-time", "type") from exc
    else:
        raise ValueError_("expected an ISO 8601 date-time", "type")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        # An offset can push the first or last day of the calendar beyond what datetime can hold.
        return dt.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError_("date-time out of range", "out_of_range") from exc


def format_datetime(dt: datetime) -> str:
    """Fixed-width UTC text, so that string comparison in JSON columns orders like time."""
    dt = dt.astimezone(UTC)
    return f"{dt.year:04d}-" + dt.strftime("%m-%dT%H:%M:%S.%fZ")  # %Y does not pad years before 1000


def option_values(options: list[dict[str, Any]] | None) -> list[str]:
    return [str(o["value"]) for o in (options or [])]


def coerce(
    ftype: str,
    value: Any,
    *,
    options: list[dict[str, Any]] | None = None,
    max_length: int | None = None,
    free_values: bool = False,
    phone_region: str = "US",
) -> Any:
    """Validate and normalise one value for a field type. None stays None (required-ness is checked
    elsewhere).

    Returns the Python value for a column: the JSON storage form is `to_json`.
    """
    if value is None:
        return None
    if ftype in STRINGY_TYPES:
        if not isinstance(value, str):
            raise ValueError_("expected a string", "type")
        value = value.strip()
        if value == "":
            return None
        limit = max_length or DEFAULT_MAX_LENGTH.get(ftype)
        if limit and len(value) > limit:
            raise ValueError_(f"must be at most {limit} characters", "too_long")
        check_text(value)
        if ftype == "email":
            return normalise_email(value)
        if ftype == "phone":
            return normalise_phone(value, phone_region)
        if ftype == "url":
            url = normalise_url(value)
            if limit and len(url) > limit:  # the scheme we add counts too
                raise ValueError_(f"must be at most {limit} characters", "too_long")
            return url
        if ftype == "single_select" and value not in option_values(options):
            raise ValueError_(f"must be one of: {', '.join(option_values(options))}", "invalid_choice")
        return value
    if ftype in NUMERIC_TYPES:
        number = _number(value)
        if ftype == "currency":
            return round(float(number), 2) if isinstance(number, float) else number
        return number
    if ftype == "boolean":
        if not isinstance(value, bool):
            raise ValueError_("expected true or false", "type")
        return value
    if ftype == "date":
        return parse_date(value)
    if ftype == "datetime":
        return parse_datetime(value)
    if ftype == "multi_select":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError_("expected a list of strings", "type")
        cleaned: list[str] = []
        for item in (v.strip() for v in value):
            if not item or item in cleaned:
                continue
            if len(item) > 100:
                raise ValueError_("each value must be at most 100 characters", "too_long")
            check_text(item)
            if not free_values and item not in option_values(options):
                raise ValueError_(
                    f"{item!r} is not one of: {', '.join(option_values(options))}", "invalid_choice"
                )
            cleaned.append(item)
        if len(cleaned) > 100:
            raise ValueError_("at most 100 values", "too_long")
        return cleaned
    if ftype == "reference":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError_("expected a record id (integer)", "type")
        if value <= 0 or value > MAX_INTEGER:
            raise ValueError_("expected a record id (positive integer)", "type")
        return value
    raise ValueError_(f"unknown field type {ftype}", "type")


def to_json(ftype: str, value: Any) -> Any:
    """Storage/transport form: dates and date-times as ISO text."""
    if value is None:
        return None
    if ftype == "date" and isinstance(value, date):
        return value.isoformat()
    if ftype == "datetime" and isinstance(value, datetime):
        return format_datetime(value)
    return value
