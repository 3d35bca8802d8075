"""Imports through the public API on the real database: mapping, dry run, run, upsert, errors, undo."""

from __future__ import annotations

import csv
import io
import json

from tests.dataquality.support import csv_bytes, drain, run_import, upload
from tests.helpers import add_field, problem, query_ids

HEAD = ["First Name", "Last Name", "E-mail", "Phone", "Stage", "Tags", "Birthday"]


def test_a_csv_import_creates_contacts_as_the_api_would(crm):
    admin = crm.admin
    content = csv_bytes(
        [
            HEAD,
            [
                "Ada",
                "Lovelace",
                " Ada@Example.COM ",
                "(415) 555-0100",
                "Customer",
                "vip; board",
                "1815-12-10",
            ],
            ["Alan", "Turing", "alan@example.com", "", "", "", ""],
        ]
    )
    job = run_import(admin, "contacts", content)
    assert job["status"] == "succeeded", job
    assert (job["created"], job["rejected"], job["rows_total"], job["rows_done"]) == (2, 0, 2, 2)
    ada = admin.get(
        "/api/v1/contacts", params={"filter": '{"field":"last_name","op":"eq","value":"Lovelace"}'}
    )
    item = ada.json()["items"][0]
    by_hand = admin.create(
        "contacts",
        first_name="Ada2",
        last_name="Lovelace2",
        email="ada2@example.com",
        phone="(415) 555-0100",
        lifecycle_stage="customer",
        tags=["vip", "board"],
        birthday="1815-12-10",
    )
    assert item["email"] == "ada@example.com"
    assert item["phone"] == by_hand["phone"] == "+14155550100"
    assert item["lifecycle_stage"] == "customer" and item["tags"] == ["vip", "board"]
    assert item["birthday"] == "1815-12-10" and item["version"] == 1
    assert item["owner_id"] == by_hand["owner_id"] == admin.user["id"]
    alan = admin.get(
        "/api/v1/contacts", params={"filter": '{"field":"last_name","op":"eq","value":"Turing"}'}
    )
    assert alan.json()["items"][0]["lifecycle_stage"] == "lead"  # the object's own default rule
    found = admin.get("/api/v1/search", params={"q": "lovelace"}).json()["items"]
    assert {f["id"] for f in found} == {item["id"], by_hand["id"]}
    history = admin.get(f"/api/v1/contacts/{item['id']}/history").json()["items"]
    assert history[0]["action"] == "create" and history[0]["changes"]["email"] == [None, "ada@example.com"]


def _by_last(caller, last):
    flt = json.dumps({"field": "last_name", "op": "eq", "value": last})
    return caller.get("/api/v1/contacts", params={"filter": flt}).json()["items"]


def test_re_running_an_import_updates_by_key_instead_of_duplicating(crm):
    admin = crm.admin
    first = csv_bytes([["Email", "First name", "Last name", "City"], ["a@ex.com", "Ann", "Upsert", "Oslo"]])
    run_import(admin, "contacts", first)
    second = csv_bytes(
        [
            ["Email", "First name", "Last name", "City"],
            ["A@EX.com", "Anne", "Upsert", ""],
            ["b@ex.com", "", "B", ""],
        ]
    )
    job = run_import(admin, "contacts", second)
    assert (job["created"], job["updated"], job["rejected"]) == (1, 1, 0), job
    [ann] = _by_last(admin, "Upsert")
    assert ann["first_name"] == "Anne" and ann["city"] == "Oslo" and ann["version"] == 2  # blank keeps Oslo
    history = admin.get(f"/api/v1/contacts/{ann['id']}/history").json()["items"]
    assert history[0]["action"] == "update" and history[0]["changes"] == {"first_name": ["Ann", "Anne"]}


def test_every_rejected_row_is_reported_and_downloadable_with_its_error(crm):
    admin = crm.admin
    content = csv_bytes(
        [
            ["Email", "Last name", "Birthday", "Stage"],
            ["ok@ex.com", "Fine", "", ""],
            ["not-an-email", "Bad", "", ""],
            ["x@ex.com", "Worse", "31/02/2020", "nonsense"],
            ["", "", "", ""],
            ["ok@ex.com", "Again", "", ""],
        ]
    )
    job = run_import(admin, "contacts", content)
    assert (job["created"], job["rejected"], job["rows_done"]) == (1, 3, 4), job
    r = admin.get(f"/api/v1/imports/{job['id']}/errors")
    items = r.json()["items"]
    assert [i["row"] for i in items] == [2, 3, 4]
    assert items[0]["errors"][0]["column"] == "Email" and items[0]["values"]["Last name"] == "Bad"
    assert {e["column"] for e in items[1]["errors"]} == {"Birthday", "Stage"}
    assert items[2]["errors"][0]["code"] == "duplicate_key"
    r = admin.get(f"/api/v1/imports/{job['id']}/errors.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["Email", "Last name", "Birthday", "Stage", "error", "row"]
    assert rows[1][:2] == ["not-an-email", "Bad"] and rows[1][4].startswith("Email: ")
    assert len(rows) == 4


def test_a_dry_run_writes_nothing_and_reports_what_would_happen(crm):
    admin = crm.admin
    admin.create("contacts", last_name="Existing", email="e@ex.com")
    content = csv_bytes(
        [["Email", "Last name"], ["e@ex.com", "Existing2"], ["n@ex.com", "New"], ["bad", "X"]]
    )
    r = upload(admin, "contacts", content)
    job = r.json()
    assert job["mapping"] == {"Email": {"field": "email"}, "Last name": {"field": "last_name"}}
    assert job["key"] == "email" and job["preview"][0] == ["e@ex.com", "Existing2"]
    r = admin.post(f"/api/v1/imports/{job['id']}/dry-run")
    assert r.status_code == 202, r.text
    drain()
    status = admin.get(f"/api/v1/imports/{job['id']}").json()
    assert status["status"] == "validated"
    assert status["dry_run"] == {"would_create": 1, "would_update": 1, "rejected": 1, "rows_checked": 3}
    assert [
        i["row"] for i in admin.get(f"/api/v1/imports/{job['id']}/errors?dry_run=true").json()["items"]
    ] == [3]
    assert _by_last(admin, "New") == []
    assert admin.post(f"/api/v1/imports/{job['id']}/run").status_code == 202
    drain()
    assert admin.get(f"/api/v1/imports/{job['id']}").json()["created"] == 1


def test_semicolon_latin1_files_and_custom_fields_import(crm):
    admin = crm.admin
    add_field(admin, "contacts", "tier", "single_select", options=["gold", "silver"])
    add_field(admin, "contacts", "legacy_id", "text", unique=True)
    content = csv_bytes(
        [["Nom", "Prénom", "Courriel", "Tier", "Legacy id"], ["Müller", "Jürgen", "j@ex.de", "Gold", "L-1"]],
        delimiter=";",
        encoding="cp1252",
    )
    r = upload(admin, "contacts", content, "export.csv")
    job = r.json()
    assert job["delimiter"] == ";" and job["headers"][1] == "Prénom"
    assert job["mapping"]["Tier"] == {"field": "tier"} and job["mapping"]["Legacy id"] == {
        "field": "legacy_id"
    }
    mapping = {**job["mapping"], "Courriel": "email"}
    job = run_import(admin, "contacts", content, mapping=mapping, key="legacy_id", name="export.csv")
    assert job["created"] == 1, job
    [row] = _by_last(admin, "Müller")
    assert row["first_name"] == "Jürgen" and row["tier"] == "gold" and row["legacy_id"] == "L-1"
    again = csv_bytes([["Legacy id", "Courriel"], ["L-1", "jm@ex.de"]], delimiter=";")
    job = run_import(
        admin, "contacts", again, mapping={"Legacy id": "legacy_id", "Courriel": "email"}, key="legacy_id"
    )
    assert job["updated"] == 1 and _by_last(admin, "Müller")[0]["email"] == "jm@ex.de"


def test_references_are_resolved_by_name_and_owners_by_email(crm):
    admin = crm.admin
    rep = crm.user("sales")
    acme = admin.create("companies", name="Acme", domain="acme.com")
    content = csv_bytes(
        [
            ["Name", "Parent", "Owner", "Domain"],
            ["Acme EU", "Acme", rep.user["email"], "acme.eu"],
            ["Orphan", "Nope", "", "orphan.io"],
        ]
    )
    mapping = {
        "Name": "name",
        "Parent": {"field": "parent_company_id", "match": "name"},
        "Owner": "owner_id",
        "Domain": "domain",
    }
    job = run_import(admin, "companies", content, mapping=mapping, key="domain")
    assert (job["created"], job["rejected"]) == (1, 1), job
    [eu] = admin.get(
        "/api/v1/companies", params={"filter": '{"field":"name","op":"eq","value":"Acme EU"}'}
    ).json()["items"]
    assert eu["parent_company_id"] == acme["id"] and eu["owner_id"] == rep.user["id"]
    errors = admin.get(f"/api/v1/imports/{job['id']}/errors").json()["items"]
    assert (
        errors[0]["errors"][0]["column"] == "Parent" and errors[0]["errors"][0]["code"] == "invalid_reference"
    )


def test_an_import_can_be_undone_as_one_unit(crm):
    admin = crm.admin
    kept = admin.create("contacts", last_name="Kept", email="k@ex.com", city="Rome")
    content = csv_bytes(
        [["Email", "Last name", "City"], ["k@ex.com", "Kept", "Paris"], ["new@ex.com", "New", "Lima"]]
    )
    job = run_import(admin, "contacts", content)
    assert (job["created"], job["updated"]) == (1, 1)
    r = admin.post(f"/api/v1/imports/{job['id']}/undo")
    assert r.status_code == 200, r.text
    assert r.json()["undo"] == {"deleted": 1, "restored": 1} and r.json()["status"] == "undone"
    assert _by_last(admin, "New") == []
    assert admin.get(f"/api/v1/contacts/{kept['id']}").json()["city"] == "Rome"
    assert problem(admin.post(f"/api/v1/imports/{job['id']}/undo"), 409)


def test_undo_refuses_to_overwrite_later_edits_unless_forced(crm):
    admin = crm.admin
    job = run_import(admin, "contacts", csv_bytes([["Email", "Last name"], ["z@ex.com", "Zed"]]))
    [zed] = _by_last(admin, "Zed")
    admin.patch(f"/api/v1/contacts/{zed['id']}", json={"city": "Kyiv"})
    body = problem(admin.post(f"/api/v1/imports/{job['id']}/undo"), 409)
    assert body["changed_since"] == 1
    assert admin.post(f"/api/v1/imports/{job['id']}/undo?force=true").status_code == 200
    assert _by_last(admin, "Zed") == []


def test_xlsx_and_vcard_files_import(crm):
    from openpyxl import Workbook

    admin = crm.admin
    book = Workbook()
    sheet = book.active
    sheet.append(["First name", "Last name", "Email", "Phone"])
    sheet.append(["Grace", "Hopper", "grace@navy.mil", 14155550123])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run_import(admin, "contacts", buffer.getvalue(), name="people.xlsx")
    assert job["format"] == "xlsx" and job["created"] == 1, job
    assert _by_last(admin, "Hopper")[0]["phone"] == "+14155550123"
    vcf = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Curie;Marie;;;\r\nFN:Marie Curie\r\n"
        b"EMAIL;TYPE=INTERNET:marie@sorbonne.fr\r\n"
        b"TEL;TYPE=CELL:+33 6 12 34 56 78\r\nORG:Sorbonne\r\nTITLE:Physicist\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Pierre Curie\r\nN:Curie;Pierre;;;\r\n"
        b"EMAIL:pierre@sorbonne.fr\r\nEND:VCARD\r\n"
    )
    job = run_import(admin, "contacts", vcf, name="cards.vcf")
    assert job["format"] == "vcard" and job["created"] == 2, job
    marie = next(c for c in _by_last(admin, "Curie") if c["first_name"] == "Marie")
    assert marie["mobile_phone"] == "+33612345678" and marie["job_title"] == "Physicist"


def test_imports_obey_permissions_and_refuse_bad_input(crm):
    admin = crm.admin
    reader = crm.user("read_only")
    assert problem(upload(reader, "contacts", csv_bytes([["Email"], ["a@ex.com"]])), 403)
    assert problem(upload(admin, "nothing", csv_bytes([["Email"], ["a@ex.com"]])), 422)
    assert problem(upload(admin, "contacts", b""), 422)
    job = upload(admin, "contacts", csv_bytes([["Email"], ["a@ex.com"]])).json()
    r = admin.put(f"/api/v1/imports/{job['id']}/mapping", json={"mapping": {"Email": "created_at"}})
    assert problem(r, 422)["errors"][0]["code"] == "read_only"
    r = admin.put(f"/api/v1/imports/{job['id']}/mapping", json={"mapping": {"Nope": "email"}})
    assert problem(r, 422)["errors"][0]["code"] == "unknown_column"
    r = admin.put(f"/api/v1/imports/{job['id']}/mapping", json={"mapping": {"Email": "email"}, "key": "tags"})
    assert problem(r, 422)["errors"][0]["field"] == "key"
    other = crm.user("sales")
    assert problem(other.get(f"/api/v1/imports/{job['id']}"), 404)


def test_a_sales_rep_cannot_update_records_out_of_reach(crm):
    team_a, team_b = crm.team(), crm.team()
    alice, bob = crm.user("sales", team=team_a), crm.user("sales", team=team_b)
    bob.create("contacts", last_name="Bobs", email="bob-contact@ex.com")
    job = run_import(alice, "contacts", csv_bytes([["Email", "Last name"], ["bob-contact@ex.com", "Hijack"]]))
    assert (job["created"], job["updated"], job["rejected"]) == (0, 0, 1)
    assert _by_last(bob, "Bobs") and query_ids(alice, "contacts", None) == []


def test_templates_are_saved_and_drive_the_next_suggestions(crm):
    admin = crm.admin
    job = upload(admin, "contacts", csv_bytes([["Mail pro", "Nom de famille"], ["a@ex.com", "A"]])).json()
    assert job["mapping"] == {}
    body = {
        "mapping": {"Mail pro": "email", "Nom de famille": "last_name"},
        "key": "email",
        "save_template": "Old CRM",
    }
    assert admin.put(f"/api/v1/imports/{job['id']}/mapping", json=body).status_code == 200
    templates = admin.get("/api/v1/imports/templates", params={"object": "contacts"}).json()["items"]
    assert templates[0]["name"] == "Old CRM"
    again = upload(admin, "contacts", csv_bytes([["Mail pro", "Nom de famille"], ["b@ex.com", "B"]])).json()
    assert again["mapping"] == {"Mail pro": {"field": "email"}, "Nom de famille": {"field": "last_name"}}


def test_events_fire_for_imported_records_unless_turned_off(crm):
    from sqlalchemy import func, select

    from sextant.core.audit import OutboxEvent
    from sextant.core.db import session_scope

    admin = crm.admin

    def events() -> int:
        with session_scope() as s:
            return s.scalar(select(func.count()).where(OutboxEvent.type == "contacts.created"))

    run_import(admin, "contacts", csv_bytes([["Email", "Last name"], ["e1@ex.com", "E"]]))
    assert events() == 1
    run_import(
        admin,
        "contacts",
        csv_bytes([["Email", "Last name"], ["e2@ex.com", "E"]]),
        options={"emit_events": False},
    )
    assert events() == 1


def test_imported_records_have_exactly_the_search_rows_the_app_writes(crm):
    from sqlalchemy import select

    from sextant.contacts.models import Contact
    from sextant.core.db import session_scope
    from sextant.core.metadata import load_view
    from sextant.core.search import SearchEntry, entries_for

    admin = crm.admin
    add_field(admin, "contacts", "nickname", "text")
    content = csv_bytes(
        [
            ["First name", "Last name", "Email", "Phone", "Mobile", "Other emails", "Nickname"],
            [
                "Zoë",
                "D'Arcy",
                "zoe@ex.com",
                "+39 02 1234 5678",
                "+44 7700 900123",
                "z@home.org; z@b.com",
                "Zo",
            ],
            ["Li", "Wei", "", "+86 10 1234 5678", "", "", ""],
        ]
    )
    mapping = {
        "First name": "first_name",
        "Last name": "last_name",
        "Email": "email",
        "Phone": "phone",
        "Mobile": "mobile_phone",
        "Other emails": "additional_emails",
        "Nickname": "nickname",
    }
    job = run_import(admin, "contacts", content, mapping=mapping, key="email")
    assert job["created"] == 2, job
    with session_scope() as s:
        view = load_view(s, "contacts")
        expected = {
            (e["record_id"], e["field"], e["content"])
            for record in s.scalars(select(Contact))
            for e in entries_for(view, record)
        }
        stored = {
            tuple(row)
            for row in s.execute(select(SearchEntry.record_id, SearchEntry.field, SearchEntry.content))
        }
    assert stored == expected and len(stored) > 6


def test_activities_import_linked_to_contacts_found_by_email(crm):
    admin = crm.admin
    ada = admin.create("contacts", first_name="Ada", last_name="Lovelace", email="ada@ex.com")
    content = csv_bytes(
        [
            ["Type", "Subject", "When", "Contact"],
            ["call", "Intro call", "2026-01-05T10:00:00Z", "ADA@ex.com"],
            ["note", "Orphan note", "2026-01-06T10:00:00Z", "nobody@ex.com"],
        ]
    )
    job = upload(admin, "activities", content, "calls.csv").json()
    assert job["mapping"]["Contact"] == {"field": "links.contacts", "match": "email"}
    mapping = {
        "Type": "kind",
        "Subject": "subject",
        "When": "occurred_at",
        "Contact": job["mapping"]["Contact"],
    }
    job = run_import(admin, "activities", content, mapping=mapping, name="calls.csv")
    assert (job["created"], job["rejected"]) == (1, 1), job
    timeline = admin.get(f"/api/v1/contacts/{ada['id']}/timeline").json()["items"]
    assert any("Intro call" in json.dumps(item) for item in timeline)
    errors = admin.get(f"/api/v1/imports/{job['id']}/errors").json()["items"]
    assert errors[0]["errors"][0]["column"] == "Contact"


def test_the_mapping_screen_lists_importable_fields_with_custom_ones_and_links(crm):
    admin = crm.admin
    add_field(admin, "contacts", "vat_number", "text", unique=True)
    items = {
        f["name"]: f
        for f in admin.get("/api/v1/imports/fields", params={"object": "contacts"}).json()["items"]
    }
    assert items["vat_number"]["custom"] and items["vat_number"]["can_be_key"]
    assert items["owner_id"]["default_match"] == "email" and "created_at" not in items
    links = admin.get("/api/v1/imports/fields", params={"object": "activities"}).json()["items"]
    assert {"links.contacts", "links.deals"} <= {f["name"] for f in links}
    assert problem(crm.user("read_only").get("/api/v1/imports/fields", params={"object": "contacts"}), 403)


def test_a_dry_run_counts_a_key_repeated_in_a_later_chunk_as_an_update(crm):
    admin = crm.admin
    content = csv_bytes(
        [["Email", "Last name"], ["r@ex.com", "First"], ["s@ex.com", "Other"], ["R@ex.com", "Again"]]
    )
    job = upload(admin, "contacts", content).json()
    body = {"mapping": job["mapping"], "key": "email", "options": {"chunk_size": 2}}
    assert admin.put(f"/api/v1/imports/{job['id']}/mapping", json=body).status_code == 200
    assert admin.post(f"/api/v1/imports/{job['id']}/dry-run").status_code == 202
    drain()
    dry = admin.get(f"/api/v1/imports/{job['id']}").json()["dry_run"]
    assert dry == {"would_create": 2, "would_update": 1, "rejected": 0, "rows_checked": 3}
    assert admin.post(f"/api/v1/imports/{job['id']}/run").status_code == 202
    drain()
    done = admin.get(f"/api/v1/imports/{job['id']}").json()
    assert (done["created"], done["updated"]) == (2, 1)
    assert _by_last(admin, "Again")[0]["email"] == "r@ex.com"
