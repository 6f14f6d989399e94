"""Own and foreign tickets and incidents: the own ones in unit A (reported by the world's customer on its own
account), the foreign ones in unit B."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.resources import Params, provider
from tests.support import World


def _ticket(session: Any, world: World, number: str, unit_id: int, account_id: int, reporter_id: int | None) -> Any:
    from servicedesk.models import Ticket, TicketPhoto

    ticket = Ticket(
        ticket_no=number,
        kind="complaint",
        status="received",
        unit_id=unit_id,
        account_id=account_id,
        reporter_id=reporter_id,
        description="投诉",
        received_at=dt.datetime.now(dt.UTC),
    )
    session.add(ticket)
    session.flush()
    photo = TicketPhoto(ticket_id=ticket.id, content=b"GIF89a", content_type="image/gif")
    session.add(photo)
    session.flush()
    return ticket, photo


@provider("ticket")
def _tickets(world: World, session: Any) -> tuple[Params, Params]:
    customer = world.users["customer"]
    own, own_photo = _ticket(session, world, "2026120700000001", world.unit_a.id, world.own_account.id, customer.id)
    foreign, foreign_photo = _ticket(
        session, world, "2026120700000002", world.unit_b.id, world.foreign_account.id, None
    )
    session.commit()
    return (
        {"ticket_no": own.ticket_no, "photo_id": own_photo.id},
        {"ticket_no": foreign.ticket_no, "photo_id": foreign_photo.id},
    )


@provider("incident")
def _incidents(world: World, session: Any) -> tuple[Params, Params]:
    from servicedesk.models import Incident

    now = dt.datetime.now(dt.UTC)
    own = Incident(unit_id=world.unit_a.id, lat=30.27, lon=120.16, first_reported_at=now, last_reported_at=now)
    foreign = Incident(unit_id=world.unit_b.id, lat=30.3, lon=120.2, first_reported_at=now, last_reported_at=now)
    session.add_all([own, foreign])
    session.commit()
    return {"incident_id": own.id}, {"incident_id": foreign.id}
