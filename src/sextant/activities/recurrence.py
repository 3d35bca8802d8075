"""Repeating tasks: a safe subset of RFC 5545 RRULE, evaluated in the task's time zone.

Only one RRULE line is accepted (no DTSTART, EXDATE ...: the task's due time is the start), with the parts
a task needs. INTERVAL and COUNT are bounded, and a rule must occur at all: dateutil searches up to the year
9999 for the next occurrence of a rule that never matches (February 30th; INTERVAL=0 loops forever), which
would hold a request for seconds or for ever.

Occurrences are computed on the wall clock of the task's zone, so "every Monday at 09:00" in Paris stays at
09:00 across daylight-saving changes. A COUNT is carried forward: each new occurrence repeats the rule with
the number of occurrences left, so a series of three ends after three tasks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST")
MAX_INTERVAL = 99
MAX_COUNT = 1000
# A rule that yields nothing within this many years never occurs (weekday/leap-year cycles are 28 years).
PROBE_YEARS = 60


class RuleError(ValueError):
    """Why a recurrence rule is refused, in words for the user."""


def normalise(text: str) -> str:
    """The rule in canonical form (upper case, no RRULE: prefix), or RuleError."""
    rule = text.strip()
    if rule[:6].upper() == "RRULE:":
        rule = rule[6:]
    rule = rule.upper()
    if not rule or any(c in rule for c in "\r\n:"):
        raise RuleError("expected one RRULE line, e.g. FREQ=WEEKLY;BYDAY=MO")
    parts: dict[str, str] = {}
    for chunk in rule.split(";"):
        name, sep, value = chunk.partition("=")
        if not sep or not value:
            raise RuleError(f"'{chunk}' is not NAME=value")
        if name not in PARTS:
            raise RuleError(f"{name} is not supported (use {', '.join(PARTS)})")
        if name in parts:
            raise RuleError(f"{name} is given twice")
        parts[name] = value
    if parts.get("FREQ") not in FREQUENCIES:
        raise RuleError(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    for name, top in (("INTERVAL", MAX_INTERVAL), ("COUNT", MAX_COUNT)):
        if name in parts and not (parts[name].isdigit() and 1 <= int(parts[name]) <= top):
            raise RuleError(f"{name} must be a whole number from 1 to {top}")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("use COUNT or UNTIL, not both")
    return ";".join(f"{k}={v}" for k, v in parts.items())


def _build(rule: str, start: datetime) -> rrule:
    try:
        built = rrulestr(rule, dtstart=start)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise RuleError(str(exc) or "not a valid RRULE") from exc
    assert isinstance(built, rrule)  # one line, no RDATE/EXDATE: always a plain rule
    return built


def _local(due: datetime, zone: ZoneInfo) -> datetime:
    try:
        return due.astimezone(zone)
    except OverflowError as exc:  # 9999-12-31 in UTC+13 is beyond what datetime can hold
        raise RuleError("the due date is too close to the end of the calendar to repeat") from exc


def validate(text: str, due: datetime, zone: ZoneInfo) -> str:
    """The normalised rule, if it is valid and ever occurs; else RuleError."""
    rule = normalise(text)
    local = _local(due, zone)
    _build(rule, local)
    forever = ";".join(p for p in rule.split(";") if not p.startswith(("COUNT=", "UNTIL=")))
    probe_start = local.replace(year=9999 - PROBE_YEARS, day=min(local.day, 28))
    if next(iter(_build(forever, probe_start)), None) is None:
        raise RuleError("this rule never occurs")
    return rule


def following(text: str, due: datetime, zone: ZoneInfo) -> tuple[datetime, str] | None:
    """The occurrence after `due` (UTC) and the rule the next task carries; None once the series ends."""
    rule = normalise(text)
    local = _local(due, zone)
    built = _build(rule, local)
    try:
        nxt = built.after(local)
    except (OverflowError, ValueError):  # the next one would be past the year 9999
        return None
    if nxt is None:
        return None
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    if "COUNT" in parts:
        consumed = 1 if next(iter(built)) == local else 0
        parts["COUNT"] = str(int(parts["COUNT"]) - consumed)
    return nxt.astimezone(UTC), ";".join(f"{k}={v}" for k, v in parts.items())
