"""A passer-by follows their fault report without an account: a follow-up link given once, the timeline behind it,
and an e-mail at each step when they left an address (through notifications' mail path, to a real SMTP server)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from servicedesk.models import Ticket, TicketEvent
from tests.notifications.smtp_server import channels_with_smtp, smtp_server
from tests.servicedesk.helpers import STREET, fault, move


def _follow_path(body: dict) -> str:  # type: ignore[type-arg]
    url = body["follow_url"]
    assert re.fullmatch(r"/service/follow/[A-Za-z0-9_-]{32}", url), url
    return str(url)


def test_a_passer_by_gets_a_follow_up_link_whose_page_shows_the_timeline(client, world, session) -> None:
    body = fault(client, world, *STREET[0]).get_json()
    path = _follow_path(body)
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert body["ticket_no"] in text and 'data-action="received"' in text and "noindex" in text
    move(client, world, body["ticket_no"], to="dispatched", crew="抢修一班")
    text = client.get(path).get_data(as_text=True)
    assert 'data-action="dispatched"' in text and "抢修一班" in text
    # only the token's hash is kept; a signed-in customer's report has no link
    stored = session.scalar(select(Ticket.follow_token_hash).where(Ticket.ticket_no == body["ticket_no"]))
    assert stored is not None and path.rsplit("/", 1)[1] not in stored
    assert "follow_url" not in fault(client, world, *STREET[1], role="customer").get_json()


def test_an_unknown_or_malformed_link_is_404_and_guessing_is_limited(app, client, world, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "SERVICEDESK_FOLLOW_LIMIT", "2 per minute")
    path = _follow_path(fault(client, world, *STREET[0]).get_json())
    wrong = "/service/follow/" + "A" * 32
    codes = [client.get(p).status_code for p in (path, wrong, "/service/follow/short", path)]
    assert codes == [200, 404, 404, 429]  # two wrong guesses used the address's tries up: even a hit is refused


@pytest.mark.parametrize(
    "email", ["not-an-address", "a@b", "x" * 250 + "@b.cn", "li ming@example.cn", "a\x00@example.cn"]
)
def test_a_bad_e_mail_address_is_refused_and_nothing_is_kept(client, world, session, email) -> None:
    response = fault(client, world, *STREET[0], contact_email=email)
    error = response.get_json()["error"]
    if "\x00" in email:  # NUL is refused before any field is read
        assert response.status_code == 422 and error["code"] == "nul_character", error
    else:
        assert response.status_code == 422 and "contact_email" in error["details"]["fields"], error
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_passer_by_who_left_an_address_gets_an_e_mail_at_each_step_the_first_with_the_link(
    app, client, world, session
) -> None:
    with smtp_server() as box, channels_with_smtp(app, box):
        body = fault(client, world, *STREET[0], contact_email="li.ming@example.test").get_json()
        move(client, world, body["ticket_no"], to="dispatched", crew="抢修一班")
        from notifications.tasks import mail_ticket_follower

        event_id = session.scalar(select(TicketEvent.id).where(TicketEvent.action == "received"))
        session.rollback()
        again = {"dedupe_key": f"ticket-follower:{event_id}", "to": "li.ming@example.test", "title": "x", "body": "y"}
        assert mail_ticket_follower.delay(**again).get() is False  # a step announced twice is mailed once
    mails = [m for m in box.messages if m["To"] == "li.ming@example.test"]
    assert len(mails) == 2, [m["Subject"] for m in box.messages]
    received, dispatched = mails
    assert body["ticket_no"] in received["Subject"] and body["follow_url"] in received.get_content()
    assert "已派出抢修人员" in dispatched["Subject"] and "follow" not in dispatched.get_content()


def test_the_repair_form_gives_a_passer_by_the_link_and_keeps_their_address(client, world, session) -> None:
    from tests.servicedesk.test_pages import _report

    lat, lon = STREET[0]
    fields = {"description": "路口电线掉落", "lat": str(lat), "lon": str(lon), "contact_phone": "13912345678"}
    done = _report(client, **fields, contact_email="li.ming@example.test")
    assert done.status_code == 201
    link = re.search(
        r'href="(http://[^"]+/service/follow/[A-Za-z0-9_-]{32})" data-follow-link', done.get_data(as_text=True)
    )
    assert link is not None and "li.ming@example.test" in done.get_data(as_text=True)
    assert session.scalar(select(Ticket.contact_email)) == "li.ming@example.test"
    assert client.get(link.group(1).split("localhost", 1)[-1]).status_code == 200
    refused = _report(client, **fields, contact_email="不是邮箱")
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.get_data(as_text=True)
