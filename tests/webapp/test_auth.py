from __future__ import annotations

import datetime as dt
import re
import time
from email.utils import parsedate_to_datetime

import pytest
from itsdangerous import URLSafeTimedSerializer

from core.identity import change_password
from tests.support import PASSWORD, csrf_token, new_browser, sign_up_code


def test_token_for_right_password_and_401_for_wrong(api, world) -> None:
    ok = api.post("/api/v1/auth/token", {"username": "clerk-a", "password": PASSWORD})
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["token_type"] == "bearer" and body["roles"] == ["clerk"] and body["expires_in"] > 0
    me = api.as_token(body["access_token"]).get("/api/v1/me").get_json()
    assert me["roles"] == ["clerk"] and me["unit"]["code"] == "UA"
    bad = api.post("/api/v1/auth/token", {"username": "clerk-a", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_credentials"
    unknown = api.post("/api/v1/auth/token", {"username": "nobody", "password": "wrong-password"})
    assert unknown.get_json() == bad.get_json()


def test_password_change_revokes_older_tokens(api, world, session) -> None:
    token = world.token("clerk")
    assert api.as_token(token).get("/api/v1/me").status_code == 200
    change_password(session, world.users["clerk"], "a-brand-new-password")
    session.commit()
    assert api.as_token(token).get("/api/v1/me").status_code == 401


def test_the_account_read_path_refuses_revoked_tokens_and_inactive_users_and_reads_the_role_anew(
    api, world, session
) -> None:
    """The read path checks the token against a plain row of the user (no ORM user): every check still holds."""
    path = f"/api/v1/accounts/{world.own_account.account_no}"
    clerk = world.users["clerk"]
    token = world.token("clerk")
    assert api.as_token(token).get(path).status_code == 200
    clerk.role = "nobody"  # a role no endpoint allows
    session.commit()
    assert api.as_token(token).get(path).status_code == 403
    clerk.role = "clerk"
    clerk.active = False
    session.commit()
    assert api.as_token(token).get(path).status_code == 401
    clerk.active = True
    session.commit()
    assert api.as_token(token).get(path).status_code == 200
    change_password(session, clerk, "a-brand-new-password")
    session.commit()
    assert api.as_token(token).get(path).status_code == 401


def test_expired_and_forged_tokens_are_refused(app, api, world, monkeypatch) -> None:
    forged = URLSafeTimedSerializer("not-the-secret", salt="griddesk.api-token").dumps({"uid": 1, "v": 1})
    assert api.as_token(forged).get("/api/v1/me").status_code == 401
    token = world.token("clerk")
    assert api.as_token(token).get("/api/v1/me").status_code == 200
    issued = time.time()
    ttl = int(app.config["API_TOKEN_TTL"])
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: issued + ttl + 2)  # the token's lifetime has passed
    assert api.as_token(token).get("/api/v1/me").status_code == 401


def test_a_token_checked_before_is_refused_once_the_secret_key_changes(app, api, world, monkeypatch) -> None:
    token = world.token("clerk")
    assert api.as_token(token).get("/api/v1/me").status_code == 200  # verified, and remembered as verified
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-rotated-secret-key-for-this-test")
    assert api.as_token(token).get("/api/v1/me").status_code == 401


def test_sign_in_failures_are_rate_limited(app, api, world) -> None:
    app.config["RATELIMIT_SIGNIN"] = "3 per minute"
    try:
        for _ in range(3):
            assert api.post("/api/v1/auth/token", {"username": "clerk-a", "password": "nope-nope"}).status_code == 401
        blocked = api.post("/api/v1/auth/token", {"username": "clerk-a", "password": PASSWORD})
        assert blocked.status_code == 429
        assert blocked.get_json()["error"]["code"] == "too_many_attempts"
    finally:
        app.config["RATELIMIT_SIGNIN"] = "10 per minute;50 per hour"


@pytest.mark.parametrize("spelling", [" clerk-a", "clerk-a     ", "\u3000clerk-a", "CLERK-A", "ｃｌｅｒｋ-a"])
def test_no_spelling_of_a_username_earns_fresh_guesses(app, api, client, world, spelling: str) -> None:
    """The limit counted the name as typed while sign-in stripped it: " bf_html" signed in after the limit."""
    app.config["RATELIMIT_SIGNIN"] = "3 per minute"
    try:
        for _ in range(3):
            assert api.post("/api/v1/auth/token", {"username": "clerk-a", "password": "nope-nope"}).status_code == 401
        token = api.post("/api/v1/auth/token", {"username": spelling, "password": PASSWORD})
        assert (token.status_code, token.get_json()["error"]["code"]) == (429, "too_many_attempts")
        page = client.get("/staff/login")
        form = {"username": spelling, "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))}
        signed_in = client.post("/staff/login", data=form)
        assert signed_in.status_code == 401
        assert client.get("/staff/").status_code != 200
    finally:
        app.config["RATELIMIT_SIGNIN"] = "10 per minute;50 per hour"


def test_a_username_signs_in_in_its_canonical_form_only(api, world) -> None:
    assert api.post("/api/v1/auth/token", {"username": " clerk-a ", "password": PASSWORD}).status_code == 200
    assert api.post("/api/v1/auth/token", {"username": "ｃｌｅｒｋ-a", "password": PASSWORD}).status_code == 200


def test_customer_sign_up_and_phone_taken(api, client) -> None:
    body = {"phone": "13712345678", "password": "long-enough", "name": "王芳"}
    created = api.post("/api/v1/customers", {**body, "code": sign_up_code(client, "13712345678")})
    assert created.status_code == 201
    assert created.get_json() == {"id": created.get_json()["id"], "phone": "13712345678", "name": "王芳"}
    again = api.post("/api/v1/customers", {**body, "code": "123456"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "username_taken"
    invalid = api.post("/api/v1/customers", {"phone": "12", "password": "short", "name": "", "code": "1"})
    assert invalid.status_code == 422
    assert set(invalid.get_json()["error"]["details"]["fields"]) == {"phone", "password", "name", "code"}


def test_signed_in_page_session_calls_the_api_only_with_its_csrf_token(client, world) -> None:
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"phone": "13900000001", "password": PASSWORD, "csrf_token": token})
    assert client.get("/api/v1/me").get_json()["roles"] == ["customer"]
    body = {"account_no": "2000000001", "holder_name": "李四", "id_last4": "5678"}
    assert client.post("/api/v1/me/accounts", json=body).status_code == 401
    home = client.get("/home").get_data(as_text=True)
    meta = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    assert client.post("/api/v1/me/accounts", json=body, headers={"X-CSRFToken": meta}).status_code == 201


def _portal_sign_in(client, remember: bool) -> None:  # type: ignore[no-untyped-def]
    new_browser()
    page = client.get("/login").get_data(as_text=True)
    form = {"phone": "13900000001", "password": PASSWORD, "csrf_token": csrf_token(page)}
    if remember:
        form["remember"] = "1"
    assert client.post("/login", data=form).status_code == 302
    assert client.get("/home").status_code == 200


def _signed_in_with(app, cookies: dict[str, str]) -> bool:  # type: ignore[no-untyped-def]
    """Whether a fresh browser holding only these cookies is signed in."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    new_browser()
    return other.get("/home").status_code == 200


@pytest.mark.parametrize("kept", ["session", "remember_token"])
def test_signing_out_ends_the_session_and_the_remember_cookie_on_the_server(app, client, world, kept: str) -> None:
    """A saved session cookie and the remember cookie still worked after POST /logout."""
    _portal_sign_in(client, remember=True)
    saved = {kept: client.get_cookie(kept).value}
    assert _signed_in_with(app, saved)
    new_browser()
    me = client.get("/me").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(me)}).status_code == 302
    assert not _signed_in_with(app, saved)


def test_signing_out_one_browser_leaves_the_others_signed_in(app, client, world) -> None:
    _portal_sign_in(client, remember=False)
    phone = app.test_client()
    _portal_sign_in(phone, remember=False)
    new_browser()
    me = client.get("/me").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token(me)}).status_code == 302
    assert client.get("/home").status_code != 200
    new_browser()
    assert phone.get("/home").status_code == 200


def test_the_remember_cookie_is_same_site_http_only_and_lasts_two_weeks(client, world) -> None:
    page = client.get("/login").get_data(as_text=True)
    form = {"phone": "13900000001", "password": PASSWORD, "csrf_token": csrf_token(page), "remember": "1"}
    headers = client.post("/login", data=form).headers.getlist("Set-Cookie")
    remember = next(h for h in headers if h.startswith("remember_token="))
    assert "SameSite=Lax" in remember and "HttpOnly" in remember
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", remember).group(1))
    assert dt.timedelta(days=13) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=14)


def test_a_sign_in_expires_on_the_server(app, client, world, session) -> None:
    from sqlalchemy import update

    from core.identity import SignInSession

    _portal_sign_in(client, remember=False)
    session.execute(update(SignInSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    session.commit()
    new_browser()
    assert client.get("/home").status_code != 200
