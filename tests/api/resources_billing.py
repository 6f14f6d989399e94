"""Own and foreign bills for the permission matrix."""

from __future__ import annotations

from typing import Any

from tests.api.resources import Params, provider
from tests.billing.support import add_tariffs, bill_with
from tests.support import World


@provider("bill")
def _bills(world: World, session: Any) -> tuple[Params, Params]:
    add_tariffs(session)
    bill_with(session, world.own_account, "2026-01", 100)
    bill_with(session, world.foreign_account, "2026-01", 100)
    session.commit()
    own = {"account_no": world.own_account.account_no, "period": "2026-01"}
    return own, {"account_no": world.foreign_account.account_no, "period": "2026-01"}
