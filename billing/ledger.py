"""An account's money position: balance, arrears and the late fee owed on a given day.

Bills and payments are added by the billing records work; until an account has bills its arrears are zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.models import Account


@dataclass(frozen=True)
class Position:
    balance: Decimal
    arrears: Decimal
    late_fee_today: Decimal


def account_position(session: Session, account: Account, on: dt.date) -> Position:
    return Position(balance=account.balance, arrears=Decimal("0.00"), late_fee_today=Decimal("0.00"))
