"""Portal pages through the Flask test client: guards, the installable app, service points and the inbox."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mapping.demo import seed_service_points
from notifications.models import Message, Notice
from tests.support import PASSWORD


def _sign_in(client: Any, username: str = "13900000001") -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    done = client.post("/login", data={"phone": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert done.status_code == 302


def _csrf(client: Any, path: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found
    return found.group(1)


def _message(session: Any, user_id: int, title: str) -> int:
    notice = Notice(kind="outage", title=title, body="body", data={})
    session.add(notice)
    session.flush()
    message = Message(notice_id=notice.id, user_id=user_id)
    session.add(message)
    session.commit()
    return message.id


def test_customer_pages_send_visitors_to_sign_in_and_back(client, world) -> None:
    for path in ["/home", "/me", "/nearby", "/inbox", "/bind"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/login?next={path}"


def test_staff_are_sent_to_their_own_pages(client, world) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    client.post("/login", data={"phone": "clerk-a", "password": PASSWORD, "csrf_token": token.group(1)})
    assert client.get("/home").headers["Location"] == "/staff/"


def test_manifest_names_the_app_and_its_icons(client) -> None:
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json()
    assert body["display"] == "standalone" and body["start_url"].startswith("/")
    assert body["lang"] == "zh-CN" and body["short_name"]
    assert {icon["sizes"] for icon in body["icons"]} >= {"192x192", "512x512"}
    for icon in body["icons"]:
        assert client.get(icon["src"]).status_code == 200
    assert client.get("/manifest.webmanifest?lang=en").get_json()["lang"] == "en"


def test_service_worker_is_served_from_the_root_and_precaches_the_offline_page(client) -> None:
    response = client.get("/sw.js")
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.mimetype == "text/javascript"
    assert "no-cache" in response.headers["Cache-Control"]
    script = response.get_data(as_text=True)
    precached = re.findall(r'"(/[^"]+)"', script.split("];")[0])
    assert "/offline" in precached
    for cached in precached:
        assert client.get(cached).status_code == 200, cached
    assert "您已离线" in client.get("/offline").get_data(as_text=True)


def test_home_shows_the_position_and_the_next_step(client, world) -> None:
    _sign_in(client)
    html = client.get("/home").get_data(as_text=True)
    assert "1000000001" in html and "¥0.00" in html and "目前无需缴费" in html
    assert 'aria-current="page"' in html


def test_a_foreign_account_cannot_be_selected(client, world) -> None:
    _sign_in(client)
    html = client.get("/home?account=2000000001").get_data(as_text=True)
    assert "2000000001" not in html and "1000000001" in html


KIND_LABELS = {"business_hall": "营业厅", "self_service": "自助终端", "charging_station": "充电站"}


@pytest.mark.parametrize("kind", sorted(KIND_LABELS))
def test_nearby_from_a_district_lists_points_of_the_kind_with_distance_and_navigation(client, session, world, kind):
    from mapping.models import ServicePointKind

    assert set(KIND_LABELS) == set(ServicePointKind)
    seed_service_points(session)
    session.commit()
    _sign_in(client)
    html = client.get(f"/nearby?district=西湖区&kind={kind}").get_data(as_text=True)
    assert "离西湖区中心最近" in html
    cards = html.count('class="card sp-card"')
    kinds = re.findall(r'<p class="muted">(\S+) · ', html)
    assert cards >= 1 and kinds == [KIND_LABELS[kind]] * cards  # only points of that kind
    assert html.count("https://uri.amap.com/navigation?") == cards and html.count('<span class="distance">') == cards
    assert f"/map?lat=30.25940&amp;lon=120.13000&amp;kind={kind}" in html


def test_nearby_defaults_to_the_account_address_and_reports_unknown_places(client, session, world) -> None:
    seed_service_points(session)
    session.commit()
    _sign_in(client)
    assert "离户号 1000000001 的用电地址最近" in client.get("/nearby").get_data(as_text=True)
    html = client.get("/nearby?lat=91&lon=0&address=nowhere-at-all").get_data(as_text=True)
    assert "找不到该地址" in html


def test_opening_a_message_marks_it_read_and_others_messages_are_not_found(client, session, world) -> None:
    customer = world.users["customer"]
    mine = _message(session, customer.id, "计划停电")
    theirs = _message(session, world.users["clerk"].id, "员工通知")
    _sign_in(client)
    assert "1 条未读" in client.get("/inbox").get_data(as_text=True)
    assert client.get(f"/inbox/{theirs}").status_code == 404
    assert "计划停电" in client.get(f"/inbox/{mine}").get_data(as_text=True)
    html = client.get("/inbox").get_data(as_text=True)
    assert "0 条未读" in html and 'class="badge"' not in html
    assert session.get(Message, mine).read_at is not None
    session.commit()


def test_mark_all_read_needs_the_csrf_token(client, session, world) -> None:
    _message(session, world.users["customer"].id, "a")
    _message(session, world.users["customer"].id, "b")
    _sign_in(client)
    assert client.post("/inbox/read-all").status_code == 400
    done = client.post("/inbox/read-all", data={"csrf_token": _csrf(client, "/inbox")}, follow_redirects=True)
    assert "已将 2 条消息标为已读" in done.get_data(as_text=True)


def test_unbinding_asks_for_confirmation_first(client, world) -> None:
    _sign_in(client)
    me = client.get("/me").get_data(as_text=True)
    assert 'action="/accounts/1000000001/unbind"' not in me  # no one-tap unbinding form on the list
    assert 'href="/accounts/1000000001/unbind"' in me
    confirm = client.get("/accounts/1000000001/unbind")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "解绑户号 1000000001？" in html
    assert 'method="post" action="/accounts/1000000001/unbind"' in html
    assert "1000000001" in client.get("/home").get_data(as_text=True)  # still bound
    assert client.get("/accounts/2000000001/unbind").status_code == 404  # not the customer's


def test_a_wrong_password_keeps_the_phone_number(client, world) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    wrong = client.post("/login", data={"phone": "13900000001", "password": "wrong-one", "csrf_token": token.group(1)})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 401 and "手机号或密码错误" in html
    assert re.search(r'<input id="phone" name="phone"[^>]*value="13900000001"', html)
    assert not re.search(r'<input id="password"[^>]*value=', html)


def test_unbinding_from_the_me_page(client, world) -> None:
    _sign_in(client)
    token = _csrf(client, "/me")
    done = client.post("/accounts/1000000001/unbind", data={"csrf_token": token}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "户号 1000000001 已解绑" in html and "尚未绑定户号" in html


BILL_NOTICE = {
    "kind": "bill_issued",
    "title": "2026-10 电费账单已出",
    "body": "户号 1000000001 2026-10 电费 ¥169.34，请于 2026-11-15 前缴纳。",
    "data": {"account_no": "1000000001", "period": "2026-10", "amount": "169.34", "due_date": "2026-11-15"},
}


def test_system_notices_carry_their_kind_in_the_inbox(client, session, world) -> None:
    notice = Notice(**BILL_NOTICE)
    session.add(notice)
    session.flush()
    session.add(Message(notice_id=notice.id, user_id=world.users["customer"].id))
    session.commit()
    _sign_in(client)
    html = client.get("/inbox").get_data(as_text=True)
    assert "2026-10 电费账单已出" in html and "账单 ·" in html and "bill_issued" not in html


def test_payment_notices_in_the_inbox_name_the_account_and_the_amount(client, session, world) -> None:
    from notifications.events import payment_notice

    for payment_id, (account_no, amount) in enumerate([("1000000001", "1234.50"), ("1000000002", "88.00")]):
        made = payment_notice({"payment_id": payment_id, "account_no": account_no, "amount": amount})
        notice = Notice(kind=made["kind"], title=made["title"], body=made["body"], data=made["data"])
        session.add(notice)
        session.flush()
        session.add(Message(notice_id=notice.id, user_id=world.users["customer"].id))
    session.commit()
    _sign_in(client)
    titles = re.findall(
        r'<span class="inbox-title">(?:<span[^>]*></span><span[^>]*>[^<]*</span>)?([^<]+)</span>',
        client.get("/inbox").get_data(as_text=True),
    )
    assert sorted(titles) == ["户号 1000000001 缴费 ¥1,234.50 已到账", "户号 1000000002 缴费 ¥88.00 已到账"]
    english = client.get("/inbox?lang=en").get_data(as_text=True)
    assert "Payment of ¥1,234.50 received for account 1000000001" in english


def test_system_notices_read_in_english_by_english_readers_and_staff_texts_as_written(app) -> None:
    from flask_babel import force_locale

    from webapp.portal.notice_text import for_reader

    with app.test_request_context("/inbox"):
        assert for_reader(BILL_NOTICE) == BILL_NOTICE  # Chinese readers: the stored text
        with force_locale("en"):
            english = for_reader(BILL_NOTICE)
            assert english["title"] == "Electricity bill for 2026-10"
            assert english["body"] == "Account 1000000001: the bill for 2026-10 is ¥169.34, due by 2026-11-15."
            outage = {"kind": "outage", "title": "计划停电", "body": "……", "data": {}}
            assert for_reader(outage) == outage
            old = {**BILL_NOTICE, "data": {}}
            assert for_reader(old) == old


def test_the_offline_page_never_writes_the_session(client) -> None:
    """The service worker fetches /offline in the background while the customer signs in; a session cookie in its
    answer would replace the signed-in one (the customer found signed out on the next page)."""
    assert client.get("/login").status_code == 200  # an anonymous session with its form token
    response = client.get("/offline")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
