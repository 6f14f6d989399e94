from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

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


def _ids(session, where: str) -> list[int]:  # type: ignore[no-untyped-def]
    return list(session.scalars(text(f"SELECT id FROM trail_events WHERE {where} ORDER BY id")))


def test_verify_endpoint_at_the_root_counts_and_names_every_event(client, world, session) -> None:
    from core.identity import Role, create_user
    from tests.support import PASSWORD

    create_user(session, "supervisor-root", PASSWORD, Role.SUPERVISOR, world.root)
    session.commit()
    token = client.post("/api/v1/auth/token", json={"username": "supervisor-root", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    every = _ids(session, "1 = 1")
    body = client.get("/api/v1/audit/trail/verify", headers=headers).get_json()
    assert body == {"ok": True, "events_checked": len(every), "first_bad_id": None, "problem": None}
    _tamper(session, "UPDATE trail_events SET entity_id = 'x' WHERE id = :id", id=every[0])
    body = client.get("/api/v1/audit/trail/verify", headers=headers).get_json()
    problem = "event content does not match its hash"
    assert body == {"ok": False, "events_checked": 0, "first_bad_id": every[0], "problem": problem}


def test_verify_endpoint_below_the_root_counts_and_names_only_events_in_scope(client, world, session) -> None:
    """A supervisor of unit A learnt how many events the whole company had, and which of them was bad."""
    headers = world.headers("supervisor")
    own = _ids(session, "account_no = '1000000001'")
    foreign = _ids(session, "account_no = '2000000001'")
    assert own and foreign
    body = client.get("/api/v1/audit/trail/verify", headers=headers).get_json()
    assert body == {"ok": True, "events_checked": len(own), "first_bad_id": None, "problem": None}
    _tamper(session, "UPDATE trail_events SET entity_id = 'x' WHERE id = :id", id=foreign[0])
    body = client.get("/api/v1/audit/trail/verify", headers=headers).get_json()
    assert (body["ok"], body["first_bad_id"], body["problem"]) == (False, None, trail.OUT_OF_SCOPE_PROBLEM)
    assert body["events_checked"] == len([i for i in own if i < foreign[0]])


def test_verify_endpoint_below_the_root_names_a_bad_event_in_scope(client, world, session) -> None:
    own = _ids(session, "account_no = '1000000001'")
    _tamper(session, "UPDATE trail_events SET entity_id = 'x' WHERE id = :id", id=own[-1])
    body = client.get("/api/v1/audit/trail/verify", headers=world.headers("supervisor")).get_json()
    assert (body["ok"], body["first_bad_id"]) == (False, own[-1])


def test_trail_lists_only_events_of_accounts_in_the_callers_units(client, world) -> None:
    page = client.get("/api/v1/audit/trail", headers=world.headers("supervisor")).get_json()
    assert page["items"] and {e["account_no"] for e in page["items"]} == {"1000000001"}
    page = client.get(
        "/api/v1/audit/trail?entity=account&entity_id=2000000001", headers=world.headers("supervisor")
    ).get_json()
    assert page["total"] == 0
    first = client.get("/api/v1/audit/trail?entity=account", headers=world.headers("supervisor")).get_json()
    assert first["items"][0]["action"] == "account.created" and first["items"][0]["hash"]


def _account_event(session, account_no: str, n: int) -> trail.TrailEvent:  # type: ignore[no-untyped-def]
    return trail.record(
        session, actor_id=None, action="thing.changed", entity="thing", entity_id=n, after={"account_no": account_no}
    )


def _same_chain_as(account_no: str) -> str:
    return next(
        no
        for no in (f"{int(account_no) + k:010d}" for k in range(1, 100_000))
        if trail.chain_of(no) == trail.chain_of(account_no)
    )


def test_events_go_to_their_accounts_chain_and_each_chain_links_its_own_events(session) -> None:
    a, b = "1000000001", "1000000002"
    assert trail.chain_of(a) != trail.chain_of(b) and trail.chain_of(None) == 0
    first_a = _account_event(session, a, 1)
    first_b = _account_event(session, b, 2)
    none = trail.record(session, actor_id=None, action="thing.changed", entity="thing", entity_id=3)
    second_a = _account_event(session, a, 4)
    session.commit()
    assert (first_a.chain, first_b.chain, none.chain) == (trail.chain_of(a), trail.chain_of(b), 0)
    assert first_a.prev_hash == first_b.prev_hash == none.prev_hash == trail.GENESIS_HASH
    assert second_a.prev_hash == first_a.hash
    assert trail.verify(session) == trail.VerifyResult(ok=True, events_checked=4)


def test_a_removed_event_is_caught_in_its_chain_while_other_chains_go_on(session) -> None:
    a, b = "1000000001", "1000000002"
    events = [_account_event(session, no, n) for n, no in enumerate([a, b, a, b, a])]
    session.commit()
    _tamper(session, "DELETE FROM trail_events WHERE id = :id", id=events[2].id)
    result = trail.verify(session)
    assert not result.ok and result.first_bad_id == events[4].id
    assert "removed or reordered" in (result.problem or "")


def test_an_event_moved_to_another_chain_is_caught(session) -> None:
    a, b = "1000000001", "1000000002"
    events = [_account_event(session, no, n) for n, no in enumerate([a, b, a])]
    session.commit()
    _tamper(session, "UPDATE trail_events SET chain = :chain WHERE id = :id", chain=trail.chain_of(b), id=events[2].id)
    result = trail.verify(session)  # a's second event now follows b's first in b's chain, and does not link
    assert not result.ok and result.first_bad_id == events[2].id


def test_the_database_refuses_a_fork_in_a_chain(session) -> None:
    first = _account_event(session, "1000000001", 1)
    session.commit()
    with pytest.raises(IntegrityError):  # a second successor of the chain's start, as a lock-less writer would add
        _tamper(
            session,
            "INSERT INTO trail_events (at, action, entity, entity_id, prev_hash, hash, chain)"
            " VALUES (:at, 'x', 'thing', '2', :prev, :hash, :chain)",
            at=first.at,
            prev=first.prev_hash,
            hash="f" * 64,
            chain=first.chain,
        )
    session.rollback()


def test_bulk_append_links_each_chain_and_continues_after_single_appends(session) -> None:
    a, b = "1000000001", "1000000002"
    before = _account_event(session, a, 0)
    trail.record_many(
        session,
        [
            {"actor_id": None, "action": "bill.issued", "entity": "bill", "entity_id": n, "after": {"account_no": no}}
            for n, no in enumerate([b, a, b, a, None], start=1)
        ],
    )
    after = _account_event(session, b, 9)
    session.commit()
    rows = session.execute(
        text("SELECT entity_id, chain, prev_hash, hash FROM trail_events WHERE entity = 'bill' ORDER BY id")
    ).all()
    by_id = {r.entity_id: r for r in rows}
    assert by_id["2"].prev_hash == before.hash and by_id["4"].prev_hash == by_id["2"].hash
    assert by_id["1"].prev_hash == trail.GENESIS_HASH and by_id["3"].prev_hash == by_id["1"].hash
    assert by_id["5"].chain == 0 and after.prev_hash == by_id["3"].hash
    assert trail.verify(session) == trail.VerifyResult(ok=True, events_checked=7)


@pytest.mark.postgres
def test_appends_to_different_chains_do_not_wait_for_each_others_commit(app, session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the chain locks are PostgreSQL advisory locks (SQLite serialises every writer)")
    from core.db import db

    a, b = "1000000001", "1000000002"
    c = _same_chain_as(a)
    holder = db.new_session()
    other = db.new_session()
    try:
        _account_event(holder, a, 1)  # holds chain_of(a) until it ends
        other.execute(text("SET lock_timeout = '2s'"))
        _account_event(other, b, 2)  # another chain: appends at once
        other.commit()
        other.execute(text("SET lock_timeout = '200ms'"))
        with pytest.raises(DBAPIError, match="lock timeout"):
            _account_event(other, c, 3)  # the same chain as the open append: waits for it
        other.rollback()
        holder.commit()
    finally:
        holder.close()
        other.close()
    session.rollback()
    assert trail.verify(session) == trail.VerifyResult(ok=True, events_checked=2)


@pytest.mark.postgres
def test_lock_chains_holds_every_chain_it_names_until_the_commit(app, session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the chain locks are PostgreSQL advisory locks (SQLite serialises every writer)")
    from core.db import db

    a, b, free = "1000000001", "1000000002", "1000000003"
    assert len({trail.chain_of(n) for n in (a, b, free, None)}) == 4
    holder, other = db.new_session(), db.new_session()
    try:
        assert trail.lock_chains(holder, [b, a, None, a]) == sorted({0, trail.chain_of(a), trail.chain_of(b)})
        other.execute(text("SET lock_timeout = '200ms'"))
        for held in (a, b):
            with pytest.raises(DBAPIError, match="lock timeout"):
                _account_event(other, held, 1)
            other.rollback()
            other.execute(text("SET lock_timeout = '200ms'"))
        _account_event(other, free, 2)
        other.commit()
        holder.commit()
        _account_event(other, a, 3)  # released with the commit
        other.commit()
    finally:
        holder.close()
        other.close()


def test_plain_prepared_events_hash_as_converted_ones(session) -> None:
    content = {"account_no": "1000000001", "lines": [["tier_1", "10", "0.538", "5.38"]], "n": 3, "run": True}
    event = {"actor_id": None, "action": "a", "entity": "bill", "entity_id": 1, "after": content}
    plain = trail.prepare_many([event], plain=True)
    converted = trail.prepare_many([event])
    without_time = [row[:6] + row[7:] for row in (*plain.rows, *converted.rows)]  # row[6] holds the time
    assert without_time[0] == without_time[1]
    assert trail.append_prepared(session, plain) == 1
    session.commit()
    assert trail.verify(session).ok


@pytest.mark.parametrize(
    "value",
    [
        {"b": [1, '中文"\\\n\x01\u2028', None, True, 1.5, -0.0, 10**30], "a": {"z": 1, "y": []}, "": "x"},
        ["2026-03-01T01:00:00+00:00", None, "bill.issued", "bill", "12"],
        "户号 1000000001",
        3,
    ],
)
def test_canonical_json_is_json_dumps_with_the_chains_options(value) -> None:
    expected = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert trail.canonical_json(value) == expected


def test_bulk_events_hash_as_single_ones_would(session) -> None:
    """record_many composes each event's head from a shared prefix; verify recomputes it with json.dumps."""
    trail.record_many(
        session,
        [
            {"actor_id": actor, "action": action, "entity": "bill", "entity_id": f'{n}"\\', "after": {"n": n}}
            for n, (actor, action) in enumerate([(None, "a"), (7, "a"), (None, "b"), (None, "a")])
        ],
    )
    session.commit()
    assert trail.verify(session) == trail.VerifyResult(ok=True, events_checked=4)


def test_an_event_prepared_for_the_database_completes_to_the_canonical_json_record_hashes() -> None:
    import datetime as dt
    from decimal import Decimal

    after = {"account_no": "1000000001", "amount": Decimal("5.00"), "reference": '收据 "A"\n\\', "zeta": [1, None]}
    event = trail.prepare_for_database(
        actor_id=7, action="thing.made", entity="thing", after=after, filled=("to_balance", "applied", "b")
    )
    assert event.filled == ("applied", "b", "to_balance") and event.account_no == "1000000001"
    assert event.chain == trail.chain_of("1000000001")
    values = {"applied": [[1, "2.00", "0.00"]], "b": {"x": True}, "to_balance": "3.00"}
    texts = [trail.canonical_json(values[key]) for key in event.filled]
    after_json = event.after_parts[0] + "".join(t + part for t, part in zip(texts, event.after_parts[1:], strict=True))
    rest = event.event_parts[0] + '"42"' + event.event_parts[1]
    rest += "".join(t + part for t, part in zip(texts, event.event_parts[2:], strict=True))
    complete = {**trail._jsonable(after), **values}
    assert after_json == trail.canonical_json(complete)
    at = event.at.astimezone(dt.UTC).isoformat()
    assert rest == trail.canonical_json([at, 7, "thing.made", "thing", "42", None, complete])[1:]


def test_an_event_of_an_account_keyed_entity_cannot_leave_its_id_to_the_database() -> None:
    with pytest.raises(ValueError):
        trail.prepare_for_database(actor_id=None, action="account.x", entity="account", after={}, filled=())
