"""Demo reading books (抄表段) for every unit's accounts, and a few suspicious readings waiting for review."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.bills import record_reading
from billing.models import Account, MeterReading, ReadingBook, ReadingStatus
from billing.rules import next_period
from core.identity import Unit, User

BOOK_SIZE = 25
DEMO_READER = "clerk"  # the demo clerk enters the suspicious readings; another person (admin) reviews them


def seed_reading_books(session: Session) -> str:
    if session.scalar(select(ReadingBook.id).limit(1)) is not None:
        return "reading books present already"
    accounts = list(
        session.scalars(select(Account).where(Account.reading_book_id.is_(None)).order_by(Account.account_no))
    )
    by_unit: dict[int, list[Account]] = {}
    for account in accounts:
        by_unit.setdefault(account.unit_id, []).append(account)
    books = 0
    for unit_id, members in sorted(by_unit.items()):
        unit = session.get(Unit, unit_id)
        assert unit is not None
        for start in range(0, len(members), BOOK_SIZE):
            number = start // BOOK_SIZE + 1
            book = ReadingBook(code=f"{unit.code}-{number:02d}", name=f"{unit.name}第{number}抄表段", unit_id=unit_id)
            session.add(book)
            session.flush()
            for seq, account in enumerate(members[start : start + BOOK_SIZE], start=1):
                account.reading_book_id = book.id
                account.book_seq = seq
            books += 1
    session.flush()
    held = _seed_held(session)
    return f"{books} reading books; {held} readings held for review"


def _seed_held(session: Session) -> int:
    """Next period's reading on a few accounts, as a careless reader might enter it: a spike (an extra digit),
    a zero month, a reading below the last one."""
    reader = session.scalar(select(User).where(User.username == DEMO_READER))
    accounts = list(
        session.scalars(
            select(Account).where(Account.category == "residential").order_by(Account.account_no).offset(2).limit(5)
        )
    )
    held = 0
    for index, account in enumerate(accounts):
        last = session.scalar(
            select(MeterReading)
            .where(MeterReading.account_id == account.id)
            .order_by(MeterReading.period.desc())
            .limit(1)
        )
        if last is None or last.peak is not None:
            continue
        typed = (
            last.reading * 10 + 7,  # an extra digit
            last.reading,  # nothing used
            last.reading - 100,  # below the last one
        )[index % 3]
        reading, _bill = record_reading(
            session,
            account,
            {"period": next_period(last.period), "reading": str(max(typed, Decimal(0)))},
            actor_id=reader.id if reader else None,
        )
        held += reading.status == ReadingStatus.HELD
    return held
