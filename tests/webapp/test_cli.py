from __future__ import annotations

from sqlalchemy import func, select

from billing.models import Account
from core.identity import User
from tests.support import seed_demo


def test_create_user_reads_password_from_stdin_and_defaults_to_root_unit(app, session) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["griddesk", "create-user", "boss", "--role", "admin"], input="s3cret-password\n")
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "boss"))
    assert user.unit.code == "ROOT" and user.role == "admin"
    short = runner.invoke(args=["griddesk", "create-user", "boss2", "--role", "clerk"], input="short\n")
    assert short.exit_code != 0 and "password" in short.output


def test_seed_demo_is_idempotent(app, session) -> None:
    runner = app.test_cli_runner()
    first = seed_demo(app)
    assert first.exit_code == 0, first.output
    assert "customer-demo-2026" in first.output
    counts = session.scalar(select(func.count(Account.id))), session.scalar(select(func.count(User.id)))
    session.rollback()  # on SQLite an open transaction holds the write lock (see docs/development.md)
    second = runner.invoke(args=["griddesk", "seed-demo"])
    assert second.exit_code == 0, second.output
    assert (
        session.scalar(select(func.count(Account.id))),
        session.scalar(select(func.count(User.id))),
    ) == counts
    categories = set(session.scalars(select(Account.category)))
    assert categories == {"residential", "general", "large_industrial", "agricultural"}
    capacities = list(session.scalars(select(Account.capacity_kva)))
    assert min(capacities) < 50 and max(capacities) >= 315 and any(50 <= c < 315 for c in capacities)
    # every account is on a reading book of its unit, and a few suspicious readings wait for review
    from billing.models import MeterReading, ReadingBook

    assert session.scalar(select(func.count(Account.id)).where(Account.reading_book_id.is_(None))) == 0
    assert session.scalar(select(func.count(ReadingBook.id))) > 1
    held = session.scalar(select(func.count(MeterReading.id)).where(MeterReading.status == "held"))
    assert held is not None and held >= 3
