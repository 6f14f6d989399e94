"""Own and foreign service points: one run by the admin's unit A, one by unit B."""

from __future__ import annotations

from typing import Any

from tests.api.resources import Params, provider
from tests.support import World


@provider("service_point")
def _service_points(world: World, session: Any) -> tuple[Params, Params]:
    from mapping.commands import NewServicePoint
    from mapping.services import create_point

    base = {"kind": "business_hall", "address": "杭州市上城区解放路98号", "lat": 30.258, "lon": 120.171}
    own, _ = create_point(session, NewServicePoint.parse({**base, "name": "甲营业厅"}), actor=None, unit=world.unit_a)
    foreign, _ = create_point(
        session, NewServicePoint.parse({**base, "name": "乙营业厅"}), actor=None, unit=world.unit_b
    )
    session.commit()
    return {"point_id": own.id}, {"point_id": foreign.id}
