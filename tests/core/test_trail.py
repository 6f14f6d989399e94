from __future__ import annotations

from sqlalchemy import text

from core import trail


def test_chain_verifies_and_catches_an_edited_event(session) -> None:
    for n in range(5):
        trail.record(
            session,
            actor_id=1,
            action="thing.changed",
            entity="thing",
            entity_id=n,
            before={"n": n},
            after={"n": n + 1},
        )
    session.commit()
    assert trail.verify(session) == trail.VerifyResult(ok=True, events_checked=5)
    session.execute(text("UPDATE trail_events SET after = :v WHERE id = 3"), {"v": '{"n": 99}'})
    session.commit()
    result = trail.verify(session)
    assert not result.ok and result.first_bad_id == 3


def test_chain_catches_a_removed_event(session) -> None:
    for n in range(3):
        trail.record(session, actor_id=None, action="a", entity="e", entity_id=n)
    session.commit()
    session.execute(text("DELETE FROM trail_events WHERE id = 2"))
    session.commit()
    result = trail.verify(session)
    assert not result.ok and result.first_bad_id == 3
