"""The portal's view of billing records (bills, usage, payments).

Bills and payments come from the billing records work (issue 2); until it lands an account has no bills and
these answer "nothing yet", so every page still renders.
"""

from __future__ import annotations

from typing import Any

from billing.models import Account


def latest_bill(account: Account) -> dict[str, Any] | None:
    """The newest bill of the account as ``{period, amount, due_date, status}``, or None."""
    return None
