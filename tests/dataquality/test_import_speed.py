"""The import's fast paths give exactly what the slow ones give: E.164 phone parsing, search rows staged
into the full-text index, upsert keys looked up by index probes, collections around a run."""

from __future__ import annotations

import gc
import random

import phonenumbers
from phonenumbers import phonenumberutil

from sextant.dataquality import convert, importer
from tests.dataquality.support import csv_bytes, run_import


def _slow(value: str, region: str) -> tuple[str, str] | str:
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return "error"
    if not phonenumbers.is_possible_number(parsed):
        return "impossible"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), str(
        parsed.national_number
    )


def _fast(value: str) -> tuple[str, str] | str | None:
    parsed = convert._parse_e164(value)
    if parsed is None:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return "impossible"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), str(
        parsed.national_number
    )


def test_the_e164_shortcut_parses_as_phonenumbers_does_for_every_country_code():
    rnd = random.Random(5)
    codes = sorted(phonenumberutil.COUNTRY_CODE_TO_REGION_CODE)
    values = [
        "+14155550100",
        "+442079460958",
        "+4402079460958",
        "+390212345678",
        "+8613800138000",
        "+1",
        "+10",
    ]
    for _ in range(60_000):
        national = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 16)))
        values.append(f"+{rnd.choice(codes)}{'0' * rnd.choice((0, 0, 1, 2))}{national}")
    values += [f"+{rnd.randint(100, 10**16)}" for _ in range(10_000)]
    taken = 0
    for value in values:
        fast = _fast(value)
        if fast is None:
            continue  # the full parse decides
        taken += 1
        assert fast == _slow(value, "US") == _slow(value, "DE"), value
    assert taken > len(values) * 0.8


def test_phone_normalisation_keeps_the_national_digits_and_refuses_what_the_api_refuses():
    assert convert._phone("+4402079460958", "US") == "+442079460958"
    assert convert.NATIONAL["+442079460958"] == "2079460958"
    assert convert._phone("(415) 555-0100", "US") == "+14155550100"  # not E.164: the full parse
    for bad in ("+999123", "+1 2", "+12"):
        try:
            convert._phone(bad, "US")
        except Exception as exc:
            assert getattr(exc, "code", None) == "invalid_phone", bad
        else:
            raise AssertionError(bad)


def test_a_large_chunk_keeps_the_full_text_index_in_step(crm):
    """Search rows reach search_entries through a staging table: the FTS5 trigger (SQLite) and the stored
    tsvector (PostgreSQL) must still see every one of them, and a second chunk must not see the first's."""
    admin = crm.admin
    rows = [["Email", "First name", "Last name", "Phone"]]
    rows += [[f"p{i}@speed.example", f"Quin{i}", f"Zebulon{i % 7}", f"+4420794609{i:02d}"] for i in range(60)]
    job = run_import(admin, "contacts", csv_bytes(rows), options={"chunk_size": 25})
    assert (job["created"], job["rejected"]) == (60, 0), job
    found = admin.get("/api/v1/search", params={"q": "zebulon3", "limit": 100}).json()["items"]
    assert len(found) == len([i for i in range(60) if i % 7 == 3])
    assert len(admin.get("/api/v1/search", params={"q": "quin59"}).json()["items"]) == 1
    assert (
        len(admin.get("/api/v1/search", params={"q": "2079460959"}).json()["items"]) == 1
    )  # national digits


def test_upsert_keys_are_matched_across_many_lookup_batches(crm, monkeypatch):
    from sextant.dataquality import bulk

    monkeypatch.setattr(bulk, "LOOKUP_BATCH", 7)  # several probe statements per chunk
    admin = crm.admin
    first = [["Email", "Last name"]] + [[f"k{i}@keys.example", f"First{i}"] for i in range(30)]
    assert run_import(admin, "contacts", csv_bytes(first))["created"] == 30
    again = [["Email", "Last name"]] + [[f"K{i}@Keys.example", f"Second{i}"] for i in range(0, 40, 2)]
    again.append(["k0@keys.example", "Twice"])  # the same key twice in a file: the second is rejected
    job = run_import(
        admin, "contacts", csv_bytes(again), key="email", mapping={"Email": "email", "Last name": "last_name"}
    )
    assert (job["updated"], job["created"], job["rejected"]) == (15, 5, 1), job


def test_a_run_turns_automatic_collections_off_and_back_on():
    assert gc.isenabled()
    with importer._young_collections_only():
        assert not gc.isenabled()
        with importer._young_collections_only():  # a second run in another thread
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_cheap_text_and_select_checks_answer_as_the_record_service_does():
    from sextant.core import fieldtypes as ft
    from sextant.core.metadata import FieldDef

    options = ({"value": "lead", "label": "Lead"}, {"value": "customer", "label": "Customer"})
    fields = [
        FieldDef("t", "T", "text", max_length=5),
        FieldDef("l", "L", "long_text"),
        FieldDef("s", "S", "single_select", options=options),
    ]
    values = ["", "  ", " ok ", "abcdef", "a\x00b", "Zoë", "\ud800x", "lead", "Lead", "nope", "customer "]

    def outcome(fn):
        try:
            return ("ok", fn())
        except ft.ValueError_ as exc:
            return (exc.code, exc.message)

    for fdef in fields:
        for value in values:
            expected = outcome(
                lambda fdef=fdef, value=value: ft.coerce(
                    fdef.type, value, options=list(fdef.options or []) or None, max_length=fdef.max_length
                )
            )
            assert outcome(lambda fdef=fdef, value=value: convert.coerce(fdef, value, "US")) == expected, (
                fdef.name,
                value,
            )
