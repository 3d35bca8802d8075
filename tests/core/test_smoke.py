def test_health_reports_the_database(client, backend):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["database"] == backend


def test_a_contact_round_trips_through_the_api(crm):
    admin = crm.admin
    created = admin.create(
        "contacts",
        first_name="Ada",
        last_name="Lovelace",
        email="ADA@Example.com",
        phone="(415) 555-0100",
        tags=["vip"],
    )
    assert created["email"] == "ada@example.com"
    assert created["phone"] == "+14155550100"
    assert created["version"] == 1
    got = admin.get(f"/api/v1/contacts/{created['id']}").json()
    assert got["last_name"] == "Lovelace"
    listed = admin.get("/api/v1/contacts", params={"total": "true"}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == created["id"]
