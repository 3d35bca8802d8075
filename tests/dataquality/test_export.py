"""Exports in XLSX and vCard (CSV is core's, tested in tests/core/test_export.py): filters, columns,
permissions, audit, and a vCard export that imports back."""

from __future__ import annotations

import io
import json

from tests.dataquality.support import run_import
from tests.helpers import problem


def test_xlsx_export_respects_filter_and_columns_with_typed_cells(crm):
    from openpyxl import load_workbook

    admin = crm.admin
    for i in range(5):
        admin.create(
            "contacts",
            first_name=f"P{i}",
            last_name="Xl",
            email=f"x{i}@ex.com",
            birthday=f"1990-01-0{i + 1}",
        )
    admin.create("contacts", first_name="Other", last_name="No", email="no@ex.com")
    r = admin.get(
        "/api/v1/contacts/export",
        params={
            "format": "xlsx",
            "filter": json.dumps({"field": "last_name", "op": "eq", "value": "Xl"}),
            "sort": "first_name",
            "fields": "first_name,email,birthday,id",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].endswith('contacts.xlsx"')
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("first_name", "email", "birthday", "id")
    assert [row[0] for row in rows[1:]] == [f"P{i}" for i in range(5)]
    assert isinstance(rows[1][3], int) and rows[1][2].year == 1990


def test_vcard_export_round_trips_through_the_importer(crm):
    admin = crm.admin
    admin.create(
        "contacts",
        first_name="Marie",
        last_name="Curie",
        email="marie@sorbonne.fr",
        mobile_phone="+33612345678",
        job_title="Physicist, chemist",
        city="Paris",
        tags=["nobel"],
    )
    r = admin.get("/api/v1/contacts/export", params={"format": "vcard"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/vcard")
    text = r.content.decode()
    assert "BEGIN:VCARD" in text and "TITLE:Physicist\\, chemist" in text
    r = admin.delete("/api/v1/contacts/1")
    assert r.status_code == 204
    job = run_import(admin, "contacts", text.encode(), name="export.vcf")
    assert job["created"] == 1, job
    back = admin.get("/api/v1/contacts").json()["items"][0]
    assert (back["first_name"], back["mobile_phone"], back["job_title"]) == (
        "Marie",
        "+33612345678",
        "Physicist, chemist",
    )
    assert problem(admin.get("/api/v1/companies/export", params={"format": "vcard"}), 422)


def test_exports_are_audited_and_need_the_export_right(crm):
    admin = crm.admin
    admin.create("contacts", last_name="Audited", email="a@ex.com")
    assert admin.get("/api/v1/contacts/export", params={"format": "xlsx"}).status_code == 200
    from sqlalchemy import select

    from sextant.core.audit import AuditEntry
    from sextant.core.db import session_scope

    with session_scope() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
        assert entry.changes["format"] == [None, "xlsx"]
    rep = crm.user("sales")
    assert problem(rep.get("/api/v1/contacts/export", params={"format": "xlsx"}), 403)
