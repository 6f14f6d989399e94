"""Own and foreign applications: the own one in unit A applied for by the world's customer on its own account,
the foreign one in unit B."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.resources import Params, provider
from tests.support import World


def _application(session: Any, number: str, unit_id: int, account_id: int, applicant_id: int | None) -> Any:
    from connections.models import Application, ApplicationStep, ApplicationUpload

    application = Application(
        application_no=number,
        type="capacity_increase",
        status="in_progress",
        unit_id=unit_id,
        account_id=account_id,
        applicant_id=applicant_id,
        applicant_name="张伟",
        applicant_phone="13900000001",
        holder_key="张伟|x",
        capacity_kva=20,
        received_at=dt.datetime.now(dt.UTC),
        received_on=dt.date.today(),
        current_step="acceptance",
        due_on=dt.date.today(),
    )
    application.steps.append(ApplicationStep(step="acceptance", position=0, limit_days=1, waited_days=0))
    session.add(application)
    session.flush()
    upload = ApplicationUpload(
        application_id=application.id, kind="id_card", title="", content_type="image/png", content=b"\x89PNG"
    )
    session.add(upload)
    session.flush()
    return application, upload


@provider("application")
def _applications(world: World, session: Any) -> tuple[Params, Params]:
    customer = world.users["customer"]
    own, own_upload = _application(session, "YK2026120700000001", world.unit_a.id, world.own_account.id, customer.id)
    foreign, foreign_upload = _application(
        session, "YK2026120700000002", world.unit_b.id, world.foreign_account.id, None
    )
    session.commit()
    return (
        {"application_no": own.application_no, "upload_id": own_upload.id, "step": "acceptance"},
        {"application_no": foreign.application_no, "upload_id": foreign_upload.id, "step": "acceptance"},
    )
