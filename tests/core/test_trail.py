from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import trail


def _tamper(session, sql: str, **params) -> None:  # type: ignore[no-untyped-def]
    """Change the trail behind the application's back (on PostgreSQL as a superuser bypassing the trigger)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET session_replication_role = replica"))
    session.execute(text(sql), params)
    if postgres:
        session.execute(text("SET session_replication_role = DEFAULT"))
    session.commit()


def _events(session, n: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        trail.record(
            session,
            actor_id=1,
            action="thing.changed",
            entity="thing",
            entity_id=i,
            before={"n": i},
            after={"n": i + 1},
        )
    session.commit()


def test_chain_verifies_and_catches_an_edited_event(session) -> None:
    _events(session, 5)
    assert trail.verify(session) == trail.VerifyResult(ok=True, events_checked=5)
    _tamper(session, "UPDATE trail_events SET after = :v WHERE id = 3", v='{"n": 99}')
    result = trail.verify(session)
    assert not result.ok and result.first_bad_id == 3


def test_chain_catches_a_removed_event(session) -> None:
    _events(session, 3)
    _tamper(session, "DELETE FROM trail_events WHERE id = 2")
    result = trail.verify(session)
    assert not result.ok and result.first_bad_id == 3


def test_chain_catches_reordered_events(session) -> None:
    _events(session, 4)
    # swap the content of events 2 and 3 (ids stay in order, the chain links do not)
    _tamper(session, "UPDATE trail_events SET id = 100 WHERE id = 2")
    _tamper(session, "UPDATE trail_events SET id = 2 WHERE id = 3")
    _tamper(session, "UPDATE trail_events SET id = 3 WHERE id = 100")
    result = trail.verify(session)
    assert not result.ok and result.first_bad_id == 2 and "removed or reordered" in (result.problem or "")


def test_chain_catches_a_moved_account_number(session) -> None:
    trail.record(session, actor_id=None, action="account.created", entity="account", entity_id="1000000001")
    session.commit()
    _tamper(session, "UPDATE trail_events SET account_no = '2000000001'")
    result = trail.verify(session)
    assert not result.ok and "account number" in (result.problem or "")


def test_bulk_append_continues_the_chain(session) -> None:
    _events(session, 2)
    count = trail.record_many(
        session,
        [
            {
                "actor_id": None,
                "action": "finding.opened",
                "entity": "finding",
                "entity_id": n,
                "after": {"account_no": "1"},
            }
            for n in range(5)
        ],
        chunk=2,
    )
    session.commit()
    _events(session, 1)
    assert count == 5
    assert trail.verify(session, batch=3) == trail.VerifyResult(ok=True, events_checked=8)


@pytest.mark.parametrize(
    "sql",
    ["UPDATE trail_events SET action = 'x'", "DELETE FROM trail_events", "TRUNCATE trail_events"],
)
def test_postgres_refuses_to_change_the_trail(session, sql: str) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the database-level refusal is PostgreSQL's (SQLite relies on the hash chain)")
    _events(session, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(sql))
    session.rollback()
    assert trail.verify(session).events_checked == 2


def test_verify_cli_reports_ok_and_tampering(app, session) -> None:
    _events(session, 3)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["griddesk", "audit", "verify"])
    assert result.exit_code == 0 and "ok: 3 events checked" in result.output
    _tamper(session, "UPDATE trail_events SET actor_id = 7 WHERE id = 2")
    result = runner.invoke(args=["griddesk", "audit", "verify"])
    assert result.exit_code == 1 and "TAMPERED at event 2" in result.output


def test_verify_endpoint(client, world, session) -> None:
    headers = world.headers("supervisor")
    body = client.get("/api/v1/audit/trail/verify", headers=headers).get_json()
    assert body["ok"] is True and body["events_checked"] >= 3
    _tamper(session, "UPDATE trail_events SET entity_id = 'x' WHERE id = 1")
    body = client.get("/api/v1/audit/trail/verify", headers=headers).get_json()
    assert body == {"ok": False, "events_checked": 0, "first_bad_id": 1, "problem": body["problem"]}


def test_trail_lists_only_events_of_accounts_in_the_callers_units(client, world) -> None:
    page = client.get("/api/v1/audit/trail", headers=world.headers("supervisor")).get_json()
    assert page["items"] and {e["account_no"] for e in page["items"]} == {"1000000001"}
    page = client.get(
        "/api/v1/audit/trail?entity=account&entity_id=2000000001", headers=world.headers("supervisor")
    ).get_json()
    assert page["total"] == 0
    first = client.get("/api/v1/audit/trail?entity=account", headers=world.headers("supervisor")).get_json()
    assert first["items"][0]["action"] == "account.created" and first["items"][0]["hash"]
