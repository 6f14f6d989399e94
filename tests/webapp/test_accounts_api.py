from __future__ import annotations


def test_binding_answers_alike_for_unknown_and_mismatched_accounts(api, world) -> None:
    customer = api.as_token(world.token("customer"))
    mismatch = customer.post(
        "/api/v1/me/accounts", {"account_no": "2000000001", "holder_name": "李四", "id_last4": "0000"}
    )
    unknown = customer.post(
        "/api/v1/me/accounts", {"account_no": "9999999999", "holder_name": "李四", "id_last4": "5678"}
    )
    assert mismatch.status_code == unknown.status_code == 422
    assert mismatch.get_json() == unknown.get_json()
    assert customer.get("/api/v1/accounts/2000000001").status_code == 404


def test_binding_with_right_details_shows_the_account(api, world) -> None:
    customer = api.as_token(world.token("customer"))
    bound = customer.post(
        "/api/v1/me/accounts", {"account_no": "2000000001", "holder_name": "李四", "id_last4": "5678"}
    )
    assert bound.status_code == 201
    listed = customer.get("/api/v1/me/accounts").get_json()
    assert [a["account_no"] for a in listed["items"]] == ["1000000001", "2000000001"]
    assert listed["total"] == 2 and listed["page"] == 1
    summary = customer.get("/api/v1/accounts/2000000001").get_json()
    assert summary["balance"] == "0.00" and summary["unit"]["code"] == "UB"
    assert customer.delete("/api/v1/me/accounts/2000000001").status_code == 204
    assert customer.get("/api/v1/accounts/2000000001").status_code == 404


def test_binding_guesses_are_rate_limited(app, api, world) -> None:
    customer = api.as_token(world.token("customer"))
    app.config["RATELIMIT_BINDING"] = "3 per minute"
    try:
        for guess in ("0001", "0002", "0003"):
            customer.post("/api/v1/me/accounts", {"account_no": "2000000001", "holder_name": "李四", "id_last4": guess})
        right = customer.post(
            "/api/v1/me/accounts", {"account_no": "2000000001", "holder_name": "李四", "id_last4": "5678"}
        )
        assert right.status_code == 429
    finally:
        app.config["RATELIMIT_BINDING"] = "5 per minute;20 per hour"


def test_a_fresh_customer_from_the_same_address_earns_no_fresh_binding_guesses(app, api, world, session) -> None:
    """Sign-up was unlimited and each new customer came with fresh binding attempts."""
    from core.identity import Role, create_user
    from tests.support import PASSWORD

    app.config["RATELIMIT_BINDING"] = "3 per minute"
    try:
        customer = api.as_token(world.token("customer"))
        for guess in ("0001", "0002", "0003"):
            customer.post("/api/v1/me/accounts", {"account_no": "2000000001", "holder_name": "李四", "id_last4": guess})
        create_user(session, "13900000077", PASSWORD, Role.CUSTOMER, None, name="新客户")
        session.commit()
        token = api.post("/api/v1/auth/token", {"username": "13900000077", "password": PASSWORD}).get_json()
        fresh = api.as_token(token["access_token"])
        right = fresh.post(
            "/api/v1/me/accounts", {"account_no": "2000000001", "holder_name": "李四", "id_last4": "5678"}
        )
        assert right.status_code == 429
    finally:
        app.config["RATELIMIT_BINDING"] = "5 per minute;20 per hour"


def test_staff_see_their_unit_subtree_only(api, world) -> None:
    clerk = api.as_token(world.token("clerk"))
    assert clerk.get("/api/v1/accounts/1000000001").status_code == 200
    assert clerk.get("/api/v1/accounts/2000000001").status_code == 404


def test_id_digits_are_stored_as_a_keyed_hash(world) -> None:
    assert "1234" not in world.own_account.id_last4_hash
    assert len(world.own_account.id_last4_hash) == 64
