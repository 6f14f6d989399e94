"""The outbox: a message exists exactly when its transaction commits, reaches its subscribers, survives failures."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from core import outbox
from core.db import db
from core.outbox import OutboxMessage

TOPIC = "test.topic"


@pytest.fixture
def handled(app) -> Iterator[list[dict]]:
    """What the subscriber of TOPIC received; no relay is kicked by commits meanwhile (the test relays itself)."""
    received: list[dict] = []
    outbox.subscribe(TOPIC, received.extend)
    kick, outbox.kick = outbox.kick, lambda: None
    try:
        with app.app_context():
            yield received
    finally:
        outbox.kick = kick
        for subscriber in outbox.subscribers(TOPIC):
            outbox.unsubscribe(TOPIC, subscriber)
        with app.app_context(), db.transaction() as session:
            session.execute(OutboxMessage.__table__.delete())


def _waiting() -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_a_message_exists_only_if_its_transaction_commits(handled) -> None:
    with pytest.raises(RuntimeError), db.transaction() as session:
        outbox.put(session, TOPIC, {"n": 0})
        raise RuntimeError("the change failed")
    with db.transaction() as session:
        outbox.put(session, TOPIC, {"n": 1})
        outbox.put(session, TOPIC, {"n": 2})
    assert _waiting() == 2
    assert outbox.relay_all() == 2
    assert handled == [{"n": 1}, {"n": 2}]
    assert _waiting() == 0 and outbox.relay_all() == 0 and len(handled) == 2


def test_a_failing_subscriber_keeps_its_messages_for_the_next_relay(handled) -> None:
    with db.transaction() as session:
        outbox.put(session, TOPIC, {"n": 1})

    def queue_down(payloads: list[dict]) -> None:
        raise ConnectionError("queue down")

    outbox.subscribe(TOPIC, queue_down)
    with pytest.raises(ConnectionError):
        outbox.relay_all()
    assert _waiting() == 1
    outbox.unsubscribe(TOPIC, queue_down)
    # at least once: the subscriber that took the batch before the failure gets it again
    assert outbox.relay_all() == 1 and handled == [{"n": 1}, {"n": 1}]


def test_every_subscriber_of_a_topic_gets_its_messages_and_subscribing_twice_changes_nothing(handled) -> None:
    also: list[dict] = []
    outbox.subscribe(TOPIC, also.extend)
    outbox.subscribe(TOPIC, also.extend)
    outbox.subscribe(TOPIC, handled.extend)
    with db.transaction() as session:
        outbox.put(session, TOPIC, {"n": 1})
        outbox.put(session, TOPIC, {"n": 2})
    assert outbox.relay_all() == 2
    assert handled == also == [{"n": 1}, {"n": 2}]


def test_a_transaction_asks_for_one_relay_however_many_messages_it_puts(app, monkeypatch) -> None:
    kicks: list[int] = []
    monkeypatch.setattr(outbox, "kick", lambda: kicks.append(1))
    with app.app_context():
        with db.transaction() as session:
            for n in range(3):
                outbox.put(session, "nobody.listens", {"n": n})
            session.commit()
            outbox.put(session, "nobody.listens", {"n": 3})
        with pytest.raises(RuntimeError), db.transaction() as session:
            outbox.put(session, "nobody.listens", {"n": 4})
            raise RuntimeError("rolled back: no relay asked for")
        assert kicks == [1, 1]
        with db.transaction() as session:
            session.execute(OutboxMessage.__table__.delete())


def test_a_subscriber_whose_eager_task_puts_messages_gets_each_message_once(app) -> None:
    """Eager tasks (``make run``, the tests): a subscriber's task commits a message of its own, and that commit asks
    for a relay inside the running one. Each message is handed over once, the new one after the running batch."""
    batches: list[list[int]] = []

    def subscriber(payloads: list[dict]) -> None:
        numbers = [p["n"] for p in payloads]
        assert not any(n in seen for seen in batches for n in numbers), f"handed over again: {numbers}"
        batches.append(numbers)
        if 1 in numbers:
            with db.transaction() as session:  # commits, and so kicks a relay from inside this one
                outbox.put(session, TOPIC, {"n": 2})

    outbox.subscribe(TOPIC, subscriber)
    try:
        with app.app_context():
            with db.transaction() as session:
                outbox.put(session, TOPIC, {"n": 1})
            assert batches == [[1], [2]]
            assert _waiting() == 0
    finally:
        outbox.unsubscribe(TOPIC, subscriber)


def test_a_topic_without_a_subscriber_is_an_error_not_a_loss(handled) -> None:
    with db.transaction() as session:
        outbox.put(session, "nobody.listens", {"n": 1})
    with pytest.raises(LookupError):
        outbox.relay_all()
    assert _waiting() == 1
    with db.transaction() as session:
        session.execute(OutboxMessage.__table__.delete())


def test_relays_are_asked_for_at_most_once_per_interval_and_none_is_forgotten(app, monkeypatch) -> None:
    published: list[float] = []
    monkeypatch.setattr(outbox, "_publish", lambda: published.append(time.monotonic()))
    monkeypatch.setattr(outbox, "kick_seconds", 0.3)
    monkeypatch.setattr(outbox, "_last_kick", float("-inf"))
    started = time.monotonic()
    for _ in range(5):  # five commits in a burst: one relay now, one when the interval is over
        outbox.kick()
    assert len(published) == 1
    time.sleep(0.5)
    assert len(published) == 2 and published[1] - started >= 0.29
    time.sleep(0.35)
    outbox.kick()  # a quiet spell later: at once again
    assert len(published) == 3


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"), reason="SKIP LOCKED is PostgreSQL's"
)
def test_concurrent_relays_hand_each_message_over_once(handled) -> None:
    with db.transaction() as session:
        for n in range(1200):
            outbox.put(session, TOPIC, {"n": n})
    lock = threading.Lock()
    seen: list[int] = []

    def slow(payloads: list[dict]) -> None:
        time.sleep(0.05)
        with lock:
            seen.extend(p["n"] for p in payloads)

    outbox.unsubscribe(TOPIC, handled.extend)
    outbox.subscribe(TOPIC, slow)

    def relay() -> None:
        outbox.relay_all()
        db.remove_session()

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1200))


def test_healthz_shows_what_waits_without_failing(handled, client, world) -> None:
    staff = world.headers("admin")
    empty = {"ok": True, "waiting": 0, "oldest_seconds": 0.0}
    assert client.get("/healthz", headers=staff).get_json()["outbox"] == empty
    db.remove_session()  # the request ran in the fixture's app context, which outlives it: end its session here
    with db.transaction() as session:
        outbox.put(session, TOPIC, {"n": 1})
    time.sleep(0.05)
    reply = client.get("/healthz", headers=staff)
    report = reply.get_json()["outbox"]
    assert reply.status_code == 200 and report["waiting"] == 1 and report["oldest_seconds"] >= 0.0


def test_a_relay_waiting_for_its_interval_is_asked_for_at_once_by_a_process_about_to_exit(app, monkeypatch) -> None:
    published: list[float] = []
    monkeypatch.setattr(outbox, "_publish", lambda: published.append(time.monotonic()))
    monkeypatch.setattr(outbox, "kick_seconds", 60.0)
    monkeypatch.setattr(outbox, "_last_kick", float("-inf"))
    outbox.kick()
    outbox.kick()  # within the interval: waits for a timer
    assert len(published) == 1
    outbox.flush()
    assert len(published) == 2
    outbox.flush()  # nothing waits any more
    assert len(published) == 2
