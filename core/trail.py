"""The append-only audit trail: every change to records appends an event chained by SHA-256 hashes.

``record`` is what domains call. Each event's hash covers its content and the previous event's hash, so an
edited, removed or reordered event breaks the chain from that point on (``verify`` finds it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 7_110_422  # PostgreSQL advisory lock id that serialises appends to the chain


class TrailEvent(Base):
    __tablename__ = "trail_events"
    __table_args__ = (Index("ix_trail_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _event_hash(
    prev_hash: str,
    at: dt.datetime,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
) -> str:
    canonical = json.dumps(
        [prev_hash, at.astimezone(dt.UTC).isoformat(), actor_id, action, entity, entity_id, before, after],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> TrailEvent:
    """Append one event in the caller's transaction; it commits or rolls back with the change it records."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
    session.flush()
    prev = session.scalar(select(TrailEvent.hash).order_by(TrailEvent.id.desc()).limit(1)) or GENESIS_HASH
    at = utcnow()
    before_j, after_j = _jsonable(before), _jsonable(after)
    event = TrailEvent(
        at=at,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before_j,
        after=after_j,
        prev_hash=prev,
        hash=_event_hash(prev, at, actor_id, action, entity, str(entity_id), before_j, after_j),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; report the first event whose link or content does not check out."""
    prev = GENESIS_HASH
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(TrailEvent).where(TrailEvent.id > last_id).order_by(TrailEvent.id).limit(batch)
        ).all()
        if not rows:
            return VerifyResult(ok=True, events_checked=checked)
        for ev in rows:
            if ev.prev_hash != prev:
                return VerifyResult(False, checked, ev.id, "chain broken: an event was removed or reordered")
            expected = _event_hash(
                ev.prev_hash, ev.at, ev.actor_id, ev.action, ev.entity, ev.entity_id, ev.before, ev.after
            )
            if expected != ev.hash:
                return VerifyResult(False, checked, ev.id, "event content does not match its hash")
            prev = ev.hash
            checked += 1
            last_id = ev.id
        session.expunge_all()
