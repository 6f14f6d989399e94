"""Notifications' outbox subscribers: each announcement becomes its notice once, however often it is relayed."""

from __future__ import annotations

from sqlalchemy import func, select

from billing.topics import BILLS_ISSUED
from core import outbox
from core.db import db
from notifications.models import Message, Notice
from notifications.topics import FINDING_ASSIGNED, NOTICE_PUBLISHED
from tests.billing.support import add_tariffs, bill_with


def _inbox(client, world, role="customer"):  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/me/notifications", headers=world.headers(role)).get_json()
    db.session.rollback()  # the request shares the test's app context and session: end its read transaction
    return body


def _announce_again(topic: str, payload: dict) -> None:
    """What a relay that died after handing a batch over, before deleting it, leaves behind."""
    with db.transaction() as session:
        outbox.put(session, topic, payload)


def test_a_bill_announced_twice_makes_one_notice_for_the_bound_customer(client, world, session, held_outbox) -> None:
    add_tariffs(session)
    bill = bill_with(session, world.own_account, "2026-01", 200)  # 107.60, issued with its reading
    session.commit()
    assert held_outbox.messages() == [{"period": "2026-01", "bill_ids": [bill.id]}]
    assert held_outbox.relay() == 1
    _announce_again(BILLS_ISSUED, {"period": "2026-01", "bill_ids": [bill.id]})
    assert held_outbox.relay() == 1
    inbox = _inbox(client, world)
    assert inbox["total"] == 1
    item = inbox["items"][0]
    assert item["kind"] == "bill_issued" and "107.60" in item["body"] and bill.due_date.isoformat() in item["body"]
    assert _inbox(client, world, "clerk")["total"] == 0


def test_a_finding_assigned_tells_the_assignee_only_and_once(client, world, held_outbox) -> None:
    payload = {"finding_id": 9, "assignee_id": world.users["archivist"].id, "account_no": "1000000001", "rule": "R1"}
    _announce_again(FINDING_ASSIGNED, payload)
    _announce_again(FINDING_ASSIGNED, payload)
    assert held_outbox.relay() == 2
    inbox = _inbox(client, world, "archivist")
    assert inbox["total"] == 1 and inbox["items"][0]["kind"] == "finding_assigned"
    assert _inbox(client, world, "supervisor")["total"] == 0


def _outage(client, world):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/notices/outages",
        json={
            "title": "计划停电",
            "body": "线路检修",
            "starts_at": "2026-12-05T08:30:00+08:00",
            "ends_at": "2026-12-05T17:30:00+08:00",
            "account_nos": [world.own_account.account_no],
        },
        headers=world.headers("clerk"),
    )


def test_an_outage_is_published_with_its_notice_and_fanned_out_once(client, world, session, held_outbox) -> None:
    reply = _outage(client, world)
    assert reply.status_code == 202, reply.get_json()
    notice_id = reply.get_json()["notice_id"]
    assert held_outbox.messages(NOTICE_PUBLISHED) == [{"notice_id": notice_id}]
    assert _inbox(client, world)["total"] == 0  # stored, not yet fanned out: the relay does that
    # the notice is served on a list of accounts: its sheet (停电通知单) is announced for their dossiers too
    [sheet] = held_outbox.messages("notifications.outage_sheets_due")
    assert sheet["document_no"] == f"TD-{notice_id}" and sheet["account_nos"] == [world.own_account.account_no]
    session.rollback()  # SQLite: the archive's filing must not wait for this transaction
    assert held_outbox.relay() == 2
    _announce_again(NOTICE_PUBLISHED, {"notice_id": notice_id})
    assert held_outbox.relay() == 2  # the notice again, and the filed sheet's own announcement (archive.document_filed)
    messages = select(func.count()).select_from(Message).where(Message.notice_id == notice_id)
    assert session.scalar(messages) == 1
    session.rollback()
    assert _inbox(client, world)["items"][0]["title"] == "计划停电"


def test_an_outage_refused_publishes_nothing(client, world, session, held_outbox) -> None:
    reply = client.post(
        "/api/v1/notices/outages",
        json={
            "title": "计划停电",
            "body": "x",
            "starts_at": "2026-12-05T17:30:00+08:00",
            "ends_at": "2026-12-05T08:30:00+08:00",
            "account_nos": [world.own_account.account_no],
        },  # fmt: skip
        headers=world.headers("clerk"),
    )
    assert reply.status_code == 422
    assert held_outbox.messages() == [] and session.scalar(select(func.count()).select_from(Notice)) == 0
