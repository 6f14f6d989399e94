from __future__ import annotations


def test_admin_builds_units_users_and_accounts(api, world) -> None:
    admin = api.as_token(world.token("admin"))
    unit = admin.post("/api/v1/admin/units", {"code": "UA-1", "name": "供电所一", "parent_code": "UA"})
    assert unit.status_code == 201 and unit.get_json()["parent_code"] == "UA"
    assert admin.post("/api/v1/admin/units", {"code": "UA-1", "name": "again", "parent_code": "UA"}).status_code == 409
    user = admin.post(
        "/api/v1/admin/users",
        {"username": "arch2", "password": "long-password", "role": "archivist", "unit_code": "UA-1"},
    )
    assert user.status_code == 201
    assert (
        admin.post(
            "/api/v1/admin/users",
            {"username": "arch2", "password": "long-password", "role": "archivist", "unit_code": "UA-1"},
        ).status_code
        == 409
    )
    account = {
        "account_no": "1000000999",
        "holder_name": "某某公司",
        "id_last4": "12X4",
        "address": "杭州",
        "lat": 30.2,
        "lon": 120.1,
        "category": "large_industrial",
        "capacity_kva": "630",
        "tariff_code": "ZJ-LI-TOU",
        "unit_code": "UA-1",
        "connected_on": "2024-05-01",
    }
    created = admin.post("/api/v1/admin/accounts", account)
    assert created.status_code == 201 and created.get_json()["capacity_kva"] == "630.00"
    assert admin.post("/api/v1/admin/accounts", account).status_code == 409


def test_admin_cannot_reach_outside_its_subtree(api, world) -> None:
    admin = api.as_token(world.token("admin"))
    response = admin.post("/api/v1/admin/units", {"code": "UB-1", "name": "x", "parent_code": "UB"})
    assert response.status_code == 404


def test_bad_account_reports_every_field_at_once(api, world) -> None:
    admin = api.as_token(world.token("admin"))
    response = admin.post("/api/v1/admin/accounts", {"account_no": "abc", "category": "space", "capacity_kva": "-1"})
    assert response.status_code == 422
    fields = response.get_json()["error"]["details"]["fields"]
    assert {
        "account_no",
        "category",
        "capacity_kva",
        "holder_name",
        "id_last4",
        "tariff_code",
        "unit_code",
    } <= set(fields)


def test_unknown_fields_and_malformed_json_are_client_errors(api, world) -> None:
    admin = api.as_token(world.token("admin"))
    assert admin.post("/api/v1/admin/units", {"code": "X", "name": "x", "colour": "red"}).status_code == 422
    raw = api.client.post(
        "/api/v1/admin/units",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {world.token('admin')}"},
    )
    assert raw.status_code == 400 and raw.get_json()["error"]["code"] == "malformed_json"


def test_the_api_and_the_admin_pages_refuse_an_outside_unit_alike(app, client, world) -> None:
    from webapp.errors import render

    from ..support import staff_sign_in

    api = client.post(
        "/api/v1/admin/users",
        json={"username": "clerk-b2", "password": "long-enough-1", "role": "clerk", "unit_code": "UB"},
        headers=world.headers("admin"),
    )
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "unit_not_found"
    assert api.get_json()["error"]["details"]["problems"] == {"unit_code": {"code": "unknown_unit", "params": {}}}
    token = staff_sign_in(client, "admin-a")
    form = {"username": "clerk-b2", "password": "long-enough-1", "role": "clerk", "unit_code": "UB"}
    page = client.post("/staff/users", data={"csrf_token": token, **form}, headers={"Accept-Language": "zh-CN"})
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert f"{render('unit_not_found')} 单位：{render('unknown_unit')}" in page.get_data(as_text=True)


def test_a_customer_signs_up_with_the_same_checks_by_the_api_and_the_page(client) -> None:
    body = {"phone": "2390000000", "password": "short", "name": "", "code": "123456"}
    api = client.post("/api/v1/customers", json=body)
    problems = api.get_json()["error"]["details"]["problems"]
    assert {field: problem["code"] for field, problem in problems.items()} == {
        "phone": "mobile_number",
        "password": "too_short",
        "name": "required",
    }
    form = client.get("/signup").get_data(as_text=True)
    from ..support import csrf_token

    page = client.post("/signup", data={**body, "password2": "short", "csrf_token": csrf_token(form)})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "须为11位手机号码" in html and "至少 10 个字符" in html and "必填" in html
