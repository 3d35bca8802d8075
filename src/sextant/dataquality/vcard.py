"""vCard 3.0 export of people (contacts, leads), streamed through `core.export`'s batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sextant.core import export
from sextant.core.metadata import FieldDef
from sextant.core.permissions import Actor

PEOPLE = frozenset({"contacts", "leads"})


def _esc(value: Any) -> str:
    text = str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,").replace(";", "\\;")


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (RFC 6350 3.2)."""
    raw = line.encode()
    if len(raw) <= 75:
        return line + "\r\n"
    parts, current = [], b""
    for ch in line:
        b = ch.encode()
        if len(current) + len(b) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += b
    parts.append(current.decode())
    return "\r\n ".join(parts) + "\r\n"


def card(values: dict[str, Any]) -> str:
    first, last = values.get("first_name") or "", values.get("last_name") or ""
    full = " ".join(p for p in (first, last) if p) or values.get("email") or values.get("company_name") or ""
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"N:{_esc(last)};{_esc(first)};;;", f"FN:{_esc(full)}"]
    if values.get("email"):
        lines.append(f"EMAIL;TYPE=INTERNET,PREF:{_esc(values['email'])}")
    for other in values.get("additional_emails") or []:
        lines.append(f"EMAIL;TYPE=INTERNET:{_esc(other)}")
    if values.get("phone"):
        lines.append(f"TEL;TYPE=WORK,VOICE:{_esc(values['phone'])}")
    if values.get("mobile_phone"):
        lines.append(f"TEL;TYPE=CELL:{_esc(values['mobile_phone'])}")
    if values.get("company_name"):
        lines.append(f"ORG:{_esc(values['company_name'])}")
    if values.get("job_title"):
        lines.append(f"TITLE:{_esc(values['job_title'])}")
    address = [values.get(k) or "" for k in ("street", "city", "region", "postal_code", "country")]
    if any(address):
        lines.append("ADR;TYPE=WORK:;;" + ";".join(_esc(a) for a in address))
    if values.get("birthday"):
        lines.append(f"BDAY:{values['birthday']}")
    for key in ("linkedin_url", "website"):
        if values.get(key):
            lines.append(f"URL:{_esc(values[key])}")
    if values.get("tags"):
        lines.append("CATEGORIES:" + ",".join(_esc(t) for t in values["tags"]))
    if values.get("description"):
        lines.append(f"NOTE:{_esc(values['description'])}")
    if values.get("id"):
        lines.append(f"UID:sextant-{values['id']}")
    lines.append("END:VCARD")
    return "".join(_fold(line) for line in lines)


def stream_vcard(
    actor: Actor, object_name: str, columns: list[FieldDef], *, filter: Any = None, sort: Any = None
) -> Iterator[bytes]:
    names = [f.name for f in columns]
    for batch in export.iter_batches(actor, object_name, columns, filter=filter, sort=sort):
        out = []
        for values in batch:
            row = dict(zip(names, values, strict=True))
            if row.get("birthday") is not None:
                row["birthday"] = row["birthday"].isoformat()
            out.append(card(row))
        yield "".join(out).encode()


export.register_format("vcard", export.ExportFormat("text/vcard; charset=utf-8", "vcf", stream_vcard, PEOPLE))
