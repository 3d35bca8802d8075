import csv
import io


def _rows(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_export_streams_every_matching_row_with_custom_fields(crm):
    admin = crm.admin
    r = admin.post(
        "/api/v1/metadata/objects/contacts/fields",
        json={"name": "tier", "type": "single_select", "options": ["gold", "silver"]},
    )
    assert r.status_code == 201, r.text
    for i in range(30):
        admin.create(
            "contacts",
            first_name=f"P{i:02d}",
            last_name="Export",
            email=f"p{i}@ex.com",
            tier="gold" if i % 3 == 0 else "silver",
            tags=["a", "b"] if i == 0 else [],
        )
    rows = _rows(
        admin.get(
            "/api/v1/contacts/export",
            params={
                "filter": '{"field": "tier", "op": "eq", "value": "gold"}',
                "sort": "first_name",
                "fields": "first_name,email,tier,tags",
            },
        )
    )
    assert [r["first_name"] for r in rows] == [f"P{i:02d}" for i in range(0, 30, 3)]
    assert rows[0]["tier"] == "gold" and rows[0]["tags"] == "a; b"
    assert set(rows[0]) == {"first_name", "email", "tier", "tags"}


def test_export_neutralises_spreadsheet_formulas(crm):
    admin = crm.admin
    admin.create("contacts", first_name='=HYPERLINK("http://evil")', last_name="X", email="f@ex.com")
    rows = _rows(admin.get("/api/v1/contacts/export", params={"fields": "first_name"}))
    assert rows[0]["first_name"].startswith("'=")


def test_export_needs_the_export_permission_and_hides_what_the_user_cannot_see(crm):
    team_a, team_b = crm.team(), crm.team()
    alice = crm.user("sales", team=team_a)
    bob = crm.user("sales", team=team_b)
    alice.create("contacts", first_name="Alice's", last_name="Lead", email="a@ex.com")
    bob.create("contacts", first_name="Bob's", last_name="Lead", email="b@ex.com")
    # the sales role has no export right by default
    denied = alice.get("/api/v1/contacts/export")
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    roles = {r["name"]: r for r in crm.admin.get("/api/v1/roles").json()}
    sales = roles["sales"]
    perms = dict(sales["permissions"], contacts=["read", "create", "edit", "delete", "export"])
    r = crm.admin.patch(
        f"/api/v1/roles/{sales['id']}",
        json={"permissions": perms, "field_access": {"contacts": {"email": "hidden"}}},
    )
    assert r.status_code == 200, r.text
    rows = _rows(alice.get("/api/v1/contacts/export"))
    assert [r["first_name"] for r in rows] == ["Alice's"]
    assert "email" not in rows[0]
    assert alice.get("/api/v1/contacts/export", params={"fields": "email"}).status_code == 422


def test_every_export_is_audited(crm):
    admin = crm.admin
    admin.create("contacts", first_name="A", last_name="B", email="ab@ex.com")
    _rows(admin.get("/api/v1/contacts/export"))
    from sqlalchemy import select

    from sextant.core.audit import AuditEntry
    from sextant.core.db import session_scope

    with session_scope() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "export")))
    assert len(entries) == 1 and entries[0].object_name == "contacts"
