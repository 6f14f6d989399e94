"""Demo tickets: open and closed tickets of each kind, an overdue complaint, and an incident from a storm."""

from __future__ import annotations

from sqlalchemy.orm import Session


def seed_tickets(session: Session) -> str:
    return "no demo tickets yet"
