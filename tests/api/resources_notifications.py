"""Own and foreign notices: one scoped to unit A (the staff's unit), one to unit B."""

from __future__ import annotations

from typing import Any

from tests.api.resources import Params, provider
from tests.support import World


@provider("notice")
def _notices(world: World, session: Any) -> tuple[Params, Params]:
    from notifications.models import Notice

    own = Notice(kind="outage", title="甲", body="甲", scope_unit_id=world.unit_a.id, account_nos=["1000000001"])
    foreign = Notice(kind="outage", title="乙", body="乙", scope_unit_id=world.unit_b.id, account_nos=["2000000001"])
    session.add_all([own, foreign])
    session.commit()
    return {"notice_id": own.id}, {"notice_id": foreign.id}
