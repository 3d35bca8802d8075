"""Reading an uploaded file as rows of text: CSV (encoding and delimiter detected), XLSX, vCard 3.0/4.0.

Every reader yields lists of strings (empty string for an empty cell), one per data row, after the header,
and can start at any row so that a resumed import skips what it already committed.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Any

from sextant.core.errors import FieldError, ValidationFailed

SAMPLE_BYTES = 256 * 1024
DELIMITERS = ",;\t|"
FORMATS = ("csv", "xlsx", "vcard")
csv.field_size_limit(10 * 1024 * 1024)


@dataclass
class FileInfo:
    format: str
    encoding: str | None
    delimiter: str | None
    headers: list[str]


def detect_format(file_name: str, head: bytes) -> str:
    lower = file_name.lower()
    if head.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    text = head.lstrip(codecs.BOM_UTF8)[:200].lstrip().upper()
    if lower.endswith((".vcf", ".vcard")) or text.startswith(b"BEGIN:VCARD"):
        return "vcard"
    return "csv"


def detect_encoding(sample: bytes) -> str:
    """utf-8 (with or without BOM) if it decodes; a UTF-16 BOM; else charset-normalizer's best guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4 and len(sample) >= SAMPLE_BYTES:  # cut inside a character
            return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    guess = str(best.encoding) if best is not None and best.encoding else "cp1252"
    # On a short sample a single-byte guess is often the wrong code page (cp1257 for "é"); Windows-1252,
    # what spreadsheets in Western languages save, is the better bet whenever it decodes the bytes.
    if not _multibyte(guess):
        try:
            sample.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return guess


def _multibyte(encoding: str) -> bool:
    name = codecs.lookup(encoding).name
    return any(k in name for k in ("utf", "gb", "big5", "euc", "shift", "jis", "kr", "hz", "cp9"))


def detect_delimiter(text: str) -> str:
    lines = text.splitlines()[:50]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def inspect(path: Path, file_name: str) -> FileInfo:
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    fmt = detect_format(file_name, head)
    if fmt == "xlsx":
        headers = next(iter_rows(path, "xlsx", None, None, header=True), [])
        return FileInfo("xlsx", None, None, _headers(headers))
    encoding = detect_encoding(head)
    if fmt == "vcard":
        return FileInfo("vcard", encoding, None, list(VCARD_COLUMNS))
    text = head.decode(encoding, errors="replace")
    delimiter = detect_delimiter(text)
    headers = next(iter_rows(path, "csv", encoding, delimiter, header=True), [])
    return FileInfo("csv", encoding, delimiter, _headers(headers))


def _headers(raw: list[str]) -> list[str]:
    """Header names, stripped; blanks and repeats made unique ("Column 3", "Email (2)")."""
    out: list[str] = []
    for i, name in enumerate(raw):
        name = (name or "").strip() or f"Column {i + 1}"
        base, k = name, 2
        while name in out:
            name = f"{base} ({k})"
            k += 1
        out.append(name)
    if not out:
        raise ValidationFailed([FieldError("file", "the file has no header row", "invalid")])
    return out


def iter_rows(
    path: Path, fmt: str, encoding: str | None, delimiter: str | None, *, start: int = 0, header: bool = False
) -> Iterator[list[str]]:
    """Data rows from `start` (0 = the first row after the header); with header=True, only the header."""
    if fmt == "csv":
        rows: Iterator[list[str]] = _csv_rows(path, encoding or "utf-8", delimiter or ",")
    elif fmt == "xlsx":
        rows = _xlsx_rows(path)
    elif fmt == "vcard":
        rows = _vcard_rows(path, encoding or "utf-8", header)
    else:  # pragma: no cover - formats are checked at upload
        raise ValueError(fmt)
    head = next(rows, None)
    if header:
        if head is not None:
            yield head
        return
    yield from islice(rows, start, None)


def count_rows(path: Path, fmt: str, encoding: str | None, delimiter: str | None) -> int:
    if fmt == "vcard":
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip().upper() == b"BEGIN:VCARD")
    return sum(1 for _ in iter_rows(path, fmt, encoding, delimiter))


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[list[str]]:
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        for row in csv.reader(fh, delimiter=delimiter):
            if row and any(cell.strip() for cell in row):
                yield row


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat() if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_index(0)
    except Exception as exc:
        raise ValidationFailed([FieldError("file", f"not a readable XLSX file: {exc}", "invalid")]) from exc
    for row in sheet.iter_rows():
        cells = [cell_text(v) for v in row]
        if any(c.strip() for c in cells):
            yield cells


# -- vCard ---------------------------------------------------------------------------------------------------

VCARD_COLUMNS = (
    "First name",
    "Last name",
    "Full name",
    "Email",
    "Other emails",
    "Phone",
    "Mobile",
    "Company",
    "Job title",
    "Department",
    "Street",
    "City",
    "Region",
    "Postal code",
    "Country",
    "Birthday",
    "Website",
    "Notes",
    "Categories",
    "UID",
)


def _vcard_rows(path: Path, encoding: str, header: bool) -> Iterator[list[str]]:
    yield list(VCARD_COLUMNS)
    if header:
        return
    import vobject

    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        for card in _cards(fh):
            try:
                component = vobject.readOne(card)
            except Exception:  # a card vobject cannot parse is still a row: its error is reported
                yield ["" for _ in VCARD_COLUMNS[:-1]] + ["(unreadable vCard)"]
                continue
            yield vcard_row(component)


def _cards(fh: io.TextIOBase) -> Iterator[str]:
    lines: list[str] = []
    inside = False
    for line in fh:
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD":
            inside, lines = True, [line]
        elif marker == "END:VCARD" and inside:
            lines.append(line)
            inside = False
            yield "".join(lines)
        elif inside:
            lines.append(line)


def _values(component: Any, name: str) -> list[Any]:
    return list(component.contents.get(name, []))


def _types(line: Any) -> set[str]:
    out: set[str] = set()
    for value in line.params.get("TYPE", []):
        out.update(v.strip().lower() for v in str(value).split(","))
    return out


def vcard_row(card: Any) -> list[str]:
    values: dict[str, str] = {}
    n = _values(card, "n")
    if n:
        name = n[0].value
        values["First name"] = " ".join(filter(None, [_s(name.given), _s(name.additional)])).strip()
        values["Last name"] = _s(name.family)
    fn = _values(card, "fn")
    values["Full name"] = _s(fn[0].value) if fn else ""
    if not values.get("First name") and not values.get("Last name") and values["Full name"]:
        parts = values["Full name"].rsplit(" ", 1)
        values["First name"], values["Last name"] = (
            (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
        )
    emails = sorted(_values(card, "email"), key=lambda e: "pref" not in _types(e) and "PREF" not in e.params)
    if emails:
        values["Email"] = _s(emails[0].value)
        values["Other emails"] = "; ".join(_s(e.value) for e in emails[1:])
    for tel in _values(card, "tel"):
        kinds = _types(tel)
        key = "Mobile" if kinds & {"cell", "mobile"} else "Phone"
        if not values.get(key):
            values[key] = _s(tel.value).removeprefix("tel:")
        elif not values.get("Phone"):
            values["Phone"] = _s(tel.value).removeprefix("tel:")
    org = _values(card, "org")
    if org:
        parts = org[0].value if isinstance(org[0].value, list) else [org[0].value]
        values["Company"] = _s(parts[0]) if parts else ""
        values["Department"] = _s(parts[1]) if len(parts) > 1 else ""
    for key, prop in (("Job title", "title"), ("Notes", "note"), ("Website", "url"), ("UID", "uid")):
        found = _values(card, prop)
        if found:
            values[key] = _s(found[0].value)
    bday = _values(card, "bday")
    if bday:
        raw = _s(bday[0].value)
        if len(raw) == 8 and raw.isdigit():
            raw = f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
        values["Birthday"] = raw
    adr = _values(card, "adr")
    if adr:
        a = adr[0].value
        values.update(
            {
                "Street": _s(a.street),
                "City": _s(a.city),
                "Region": _s(a.region),
                "Postal code": _s(a.code),
                "Country": _s(a.country),
            }
        )
    cats = _values(card, "categories")
    if cats:
        raw_cats = cats[0].value
        values["Categories"] = "; ".join(raw_cats) if isinstance(raw_cats, list) else _s(raw_cats)
    return [values.get(col, "") or "" for col in VCARD_COLUMNS]


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value if v).strip()
    return str(value).strip()
