from __future__ import annotations

from sqlalchemy import select

from core.identity import Unit, User
from tests.support import PASSWORD, csrf_token, sign_up_code, staff_sign_in


def test_staff_sign_in_needs_csrf_and_shows_role_navigation(client, world) -> None:
    page = client.get("/staff/login")
    refused = client.post("/staff/login", data={"username": "admin-a", "password": PASSWORD})
    assert refused.status_code == 400
    ok = client.post(
        "/staff/login",
        data={"username": "admin-a", "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert ok.status_code == 302
    home = client.get("/staff/").get_data(as_text=True)
    assert "/staff/units" in home and "/staff/users" in home
    found = client.get("/staff/accounts?q=1000000001").get_data(as_text=True)
    assert "1000000001" in found and "2000000001" not in found
    assert client.get("/staff/accounts/2000000001").status_code == 404


def test_admin_pages_list_and_create_units_and_users_only_within_the_admins_unit(client, world, session) -> None:
    token = staff_sign_in(client, "admin-a")
    units_page = client.get("/staff/units").get_data(as_text=True)
    assert "<code>UA</code>" in units_page and "<code>UB</code>" not in units_page
    users_page = client.get("/staff/users").get_data(as_text=True)
    assert "clerk-a" in users_page and "13900000001" not in users_page
    client.post("/staff/units", data={"code": "UB9", "name": "乙九", "parent_code": "UB", "csrf_token": token})
    client.post("/staff/units", data={"code": "UA9", "name": "甲九", "parent_code": "UA", "csrf_token": token})
    new_user = {"username": "clerk-b9", "password": PASSWORD, "role": "clerk", "unit_code": "UB", "csrf_token": token}
    client.post("/staff/users", data=new_user)
    session.rollback()
    assert session.scalar(select(Unit.code).where(Unit.code == "UB9")) is None
    assert session.scalar(select(Unit.code).where(Unit.code == "UA9")) == "UA9"
    assert session.scalar(select(User.id).where(User.username == "clerk-b9")) is None


def test_archivist_has_no_admin_pages(client, world) -> None:
    page = client.get("/staff/login")
    client.post(
        "/staff/login",
        data={
            "username": "archivist-a",
            "password": PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    home = client.get("/staff/").get_data(as_text=True)
    assert "/staff/units" not in home
    assert client.get("/staff/units").status_code == 403


def test_customer_signs_up_binds_and_sees_the_account(client, world) -> None:
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "phone": "13612345678",
            "name": "王芳",
            "password": "long-enough",
            "password2": "long-enough",
            "code": sign_up_code(client, "13612345678"),
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302
    bind_page = client.get("/bind")
    wrong = client.post(
        "/bind",
        data={
            "account_no": "2000000001",
            "holder_name": "李四",
            "id_last4": "0000",
            "csrf_token": csrf_token(bind_page.get_data(as_text=True)),
        },
    )
    assert wrong.status_code == 422
    client.post(
        "/bind",
        data={
            "account_no": "2000000001",
            "holder_name": "李四",
            "id_last4": "5678",
            "csrf_token": csrf_token(bind_page.get_data(as_text=True)),
        },
    )
    home = client.get("/home").get_data(as_text=True)
    assert "2000000001" in home


def test_pages_default_to_chinese_and_switch_to_english(client) -> None:
    chinese = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in chinese and "注册账号" in chinese
    assert "Create an account" in client.get("/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in client.get("/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
