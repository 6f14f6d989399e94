"""A transactional outbox: announcements written in the transaction of the change they announce, relayed after.

``put`` inserts a message in the caller's transaction, so it exists exactly when the change does: a rollback
takes it away, a commit keeps it even if the process dies the next instant or the task queue is down (a task
published after the commit would be lost in both cases). ``relay_batch`` takes committed messages out of the table
and hands them, a topic's batch at a time, to every subscriber of the topic; a subscriber that fails leaves the
batch's messages for the next relay, and a topic with no subscriber fails the relay (its messages wait until
one subscribes). Delivery is at least once, to each subscriber: subscribers must be idempotent (notices are keyed
by their event, so an announcement relayed twice makes one notice), since a batch handed over again after a
failure reaches the subscribers that took it the first time too.

Topics are plain strings named ``<domain>.<what happened>``; each domain lists the ones it writes in its
``topics.py`` with their payloads (plain JSON values: ids, numbers, strings). A domain that reacts to another's
topic subscribes in its ``init_app``, so the writer never imports the reader.

What runs the relay: the Celery task ``core.relay_outbox``, queued after a commit that put messages (at most
once per ``OUTBOX_KICK_SECONDS`` a process, the rest wait for the next kick: under load one small message
stands for many announcements), and celery beat every ``OUTBOX_SWEEP_SECONDS`` as the safety net for kicks that
never reached the queue.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from celery import shared_task
from sqlalchemy import JSON, BigInteger, Integer, String, Table, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, db, on_commit, utcnow

log = logging.getLogger(__name__)

RELAY_TASK = "core.relay_outbox"
RELAY_BATCH = 500


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


Subscriber = Callable[[list[dict[str, Any]]], None]
_SUBSCRIBERS: dict[str, dict[Subscriber, None]] = {}  # per topic, in the order they subscribed (a dict as a set)


def subscribe(topic: str, subscriber: Subscriber) -> None:
    """``subscriber(payloads)`` receives the committed messages of ``topic``, oldest first, a batch at a time.

    Subscribing the same function again changes nothing (``init_app`` may run for several apps in a process).
    """
    _SUBSCRIBERS.setdefault(topic, {})[subscriber] = None


def unsubscribe(topic: str, subscriber: Subscriber) -> None:
    _SUBSCRIBERS.get(topic, {}).pop(subscriber, None)


def subscribers(topic: str) -> list[Subscriber]:
    return list(_SUBSCRIBERS.get(topic, ()))


def topics() -> set[str]:
    """The topics that have at least one subscriber."""
    return {topic for topic, subscribed in _SUBSCRIBERS.items() if subscribed}


_PUT = insert(cast(Table, OutboxMessage.__table__))  # built once: every change of every domain puts messages


def put(session: Session, topic: str, payload: dict[str, Any]) -> None:
    """Add a message in the session's transaction; a relay is asked for once the transaction commits."""
    session.execute(_PUT, {"topic": topic, "payload": payload, "created_at": utcnow()})
    queued_in_database(session)


def queued_in_database(session: Session) -> None:
    """A database function put messages in this transaction: ask for a relay after the commit, as ``put`` does.

    One relay per transaction, however many messages it put.
    """
    on_commit(session, kick, once=True)


_TAKE_POSTGRESQL = text(
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)"
    " RETURNING id, topic, payload"
).columns(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.payload)


def relay_batch(limit: int = RELAY_BATCH) -> int:
    """Take up to ``limit`` committed messages and hand them to their topics' subscribers; returns how many.

    PostgreSQL: the messages are deleted and handed over in one transaction (a subscriber that raises rolls the
    delete back), and concurrent relays take disjoint messages (SKIP LOCKED). SQLite has one writer at a time, and
    a subscriber may run a task eagerly that writes: the messages are read, handed over, then deleted, each step its
    own transaction (a crash before the delete hands the batch over again; subscribers are idempotent).
    """
    assert db.engine is not None
    if db.engine.dialect.name == "postgresql":
        with db.transaction() as session:
            rows = sorted(session.execute(_TAKE_POSTGRESQL, {"limit": limit}).all())
            _dispatch(rows)
        return len(rows)
    with db.transaction() as session:
        columns = (OutboxMessage.id, OutboxMessage.topic, OutboxMessage.payload)
        rows = list(session.execute(select(*columns).order_by(OutboxMessage.id).limit(limit)))
    _dispatch(rows)
    if rows:
        with db.transaction() as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows])))
    return len(rows)


def _dispatch(rows: list[Any]) -> None:
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_topic.setdefault(row.topic, []).append(row.payload)
    for topic, payloads in by_topic.items():
        subscribed = subscribers(topic)
        if not subscribed:  # a programming error: keep the messages (the relay fails loudly until it is fixed)
            raise LookupError(f"outbox: no subscriber for topic {topic!r}")
        for subscriber in subscribed:
            subscriber(payloads)


def relay_all() -> int:
    """Relay until the outbox is empty, a batch at a time; returns how many messages were relayed.

    A relay asked for while this thread is relaying (a subscriber's task ran eagerly and committed messages of its
    own) returns at once and leaves them to the running relay: on SQLite the running batch is deleted only after its
    subscribers return, and a nested relay would hand the same batch over again, and again from inside that one.
    """
    if getattr(_relaying, "active", False):
        _relaying.again = True
        return 0
    _relaying.active = True
    total = 0
    try:
        while True:
            _relaying.again = False
            taken = relay_batch()
            total += taken
            if taken < RELAY_BATCH and not _relaying.again:
                return total
    finally:
        _relaying.active = False


_relaying = threading.local()  # is this thread relaying; did a nested relay ask for another batch


@shared_task(
    name=RELAY_TASK,
    acks_late=True,
    autoretry_for=(SQLAlchemyError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def relay_outbox() -> dict[str, int]:
    """Relay every committed message (queued by ``kick`` and by celery beat)."""
    return {"relayed": relay_all()}


def backlog(session: Session) -> dict[str, Any]:
    """What waits to be relayed (``/healthz``): how many messages and how long the oldest has waited (s).

    Always ``ok``: a backlog means the workers are behind or down, which the web server's health does not depend on.
    """
    waiting, oldest = session.execute(select(func.count(), func.min(OutboxMessage.created_at))).one()
    age = round((utcnow() - oldest).total_seconds(), 1) if oldest is not None else 0.0
    return {"ok": True, "waiting": int(waiting), "oldest_seconds": age}


# --- asking for a relay ---------------------------------------------------------------------------

_kick_lock = threading.Lock()
_last_kick = float("-inf")
_pending: threading.Timer | None = None
kick_seconds = 0.2  # OUTBOX_KICK_SECONDS (configure); 0: one relay task per commit (tests, eager runs)


def configure(kick_interval: float) -> None:
    global kick_seconds
    kick_seconds = kick_interval


def kick() -> None:
    """Queue a relay now, or, if this process queued one less than ``kick_seconds`` ago, once that time is up.

    Called after commits: a message committed after the last relay began waits at most ``kick_seconds``.
    """
    global _last_kick, _pending
    now = time.monotonic()
    with _kick_lock:
        wait = _last_kick + kick_seconds - now
        if wait <= 0:
            _last_kick = now
        elif _pending is None:
            _pending = threading.Timer(wait, _kick_later)
            _pending.daemon = True
            _pending.start()
            return
        else:
            return  # a relay is due already and will take this commit's messages too
    _publish()


def _kick_later() -> None:
    global _last_kick, _pending
    with _kick_lock:
        _pending = None
        _last_kick = time.monotonic()
    _publish()


def flush() -> None:
    """Queue now the relay that a kick left waiting for its interval (a process about to exit: its timer would die
    with it, and the messages would wait for celery beat). Runs at interpreter exit; forked workers call it."""
    global _last_kick, _pending
    with _kick_lock:
        pending, _pending = _pending, None
        if pending is None:
            return
        pending.cancel()
        _last_kick = time.monotonic()
    _publish()


atexit.register(flush)


def _publish() -> None:
    # the messages are committed: a queue that is down must not turn that into an error (beat relays them later)
    try:
        relay_outbox.apply_async()
    except Exception:
        log.exception("outbox: could not queue a relay; celery beat will relay the messages")


def _forget_timer_in_child() -> None:
    global _pending, _last_kick, _kick_lock
    _pending, _last_kick, _kick_lock = None, float("-inf"), threading.Lock()


os.register_at_fork(after_in_child=_forget_timer_in_child)
