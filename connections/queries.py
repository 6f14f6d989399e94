"""Reading applications: who may see which (the one scope rule), the work queue, the applicant's list, an
application with its steps and timeline as plain values for the API and the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import Session, selectinload

from billing.models import Account
from core import clock, workdays
from core.errors import NotFound
from core.identity import Role, Unit, User
from core.scope import in_scope
from servicedesk.places import nearest_account_unit

from . import settings
from .models import OPEN_STATUSES, Application, ApplicationEvent, ApplicationStatus, ApplicationUpload

__all__ = ["application_view", "listing", "nearest_account_unit", "queue", "visible"]


def visible(user: User) -> ColumnElement[bool]:
    """Applications the user may see: a customer their own, staff their unit subtree's."""
    if user.role == Role.CUSTOMER:
        return Application.applicant_id == user.id
    if user.unit_id is None:
        return false()
    return in_scope(user, Application.unit_id)


def visible_application(session: Session, user: User, application_no: str) -> Application:
    """The application if the user may see it; 404 ``application_not_found`` for an unknown one and one outside
    the scope alike."""
    application = session.scalar(select(Application).where(Application.application_no == application_no, visible(user)))
    if application is None:
        raise NotFound("application_not_found")
    return application


def visible_to(session: Session, user: User, application: Application) -> Application | None:
    return session.scalar(select(Application).where(Application.id == application.id, visible(user)))


def upload(session: Session, application: Application, upload_id: int) -> ApplicationUpload:
    """A paper of the application; 404 for another application's."""
    paper = session.scalar(
        select(ApplicationUpload).where(
            ApplicationUpload.id == upload_id, ApplicationUpload.application_id == application.id
        )
    )
    if paper is None:
        raise NotFound("upload_not_found")
    return paper


def timing(application: Application, today: dt.date | None = None) -> str:
    """``overdue``, ``due_soon``, ``waiting`` (the clock stopped), ``on_time`` or ``closed``."""
    if application.status not in OPEN_STATUSES:
        return "closed"
    if application.status == ApplicationStatus.AWAITING_CUSTOMER:
        return "waiting"
    today = today or clock.today_local()
    if application.due_on is None:
        return "on_time"
    if application.due_on < today:
        return "overdue"
    soon = workdays.add(today, int(settings.get("CONNECTIONS_DUE_SOON_DAYS")))
    return "due_soon" if application.due_on <= soon else "on_time"


def listing(
    user: User,
    *,
    status: str | None = None,
    type_: str | None = None,
    overdue: bool | None = None,
    account_no: str | None = None,
    today: dt.date | None = None,
) -> Select[Any]:
    """The applications the user may see, filtered; open ones first by due date, then the newest."""
    query = select(Application).where(visible(user))
    if status is not None:
        query = query.where(Application.status == status)
    if type_ is not None:
        query = query.where(Application.type == type_)
    if account_no is not None:
        query = query.where(Application.account_id.in_(select(Account.id).where(Account.account_no == account_no)))
    if overdue is not None:
        late = Application.due_on < (today or clock.today_local())
        query = query.where(Application.status == ApplicationStatus.IN_PROGRESS, late if overdue else ~late)
    return query.order_by(Application.due_on.is_(None), Application.due_on, Application.id.desc())


def queue(session: Session, user: User, limit: int = 200) -> list[Application]:
    """The unit's open applications by due date (waiting ones after the running ones)."""
    query = (
        select(Application)
        .where(visible(user), Application.status.in_(OPEN_STATUSES))
        .order_by(Application.due_on.is_(None), Application.due_on, Application.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def summary(application: Application, account_no: str | None, today: dt.date | None = None) -> dict[str, Any]:
    return {
        "application_no": application.application_no,
        "type": application.type,
        "status": application.status,
        "account_no": account_no,
        "applicant_name": application.applicant_name,
        "received_on": application.received_on.isoformat(),
        "current_step": application.current_step,
        "due_on": application.due_on.isoformat() if application.due_on else None,
        "total_due_on": application.total_due_on.isoformat() if application.total_due_on else None,
        "timing": timing(application, today),
        "steps": [
            {
                "step": s.step,
                "status": "done" if s.done_on else ("current" if s.step == application.current_step else "pending"),
                "due_on": s.due_on.isoformat() if s.due_on and not s.done_on else None,
                "done_on": s.done_on.isoformat() if s.done_on else None,
                "limit_days": s.limit_days,
                "waited_days": s.waited_days,
            }
            for s in application.steps
        ],
    }


def account_numbers(session: Session, applications: list[Application]) -> dict[int, str]:
    ids = {a.account_id for a in applications if a.account_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(Account.id, Account.account_no).where(Account.id.in_(ids)))
    return {row.id: row.account_no for row in rows}


def application_view(session: Session, application: Application) -> dict[str, Any]:
    """The application with its steps (and their fields), its timeline and its papers, as plain values."""
    account_no = account_numbers(session, [application]).get(application.account_id or 0)
    unit = session.get(Unit, application.unit_id)
    events = session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.id)
        .options(selectinload(ApplicationEvent.application))
    )
    uploads = session.execute(
        select(ApplicationUpload.id, ApplicationUpload.kind, ApplicationUpload.title, ApplicationUpload.created_at)
        .where(ApplicationUpload.application_id == application.id)
        .order_by(ApplicationUpload.id)
    ).all()
    view = summary(application, account_no)
    for step, row in zip(view["steps"], application.steps, strict=True):
        step["fields"] = row.fields or {}
    view.update(
        {
            "unit": unit.name if unit else "",
            "applicant_phone": application.applicant_phone,
            "address": application.address,
            "lat": application.lat,
            "lon": application.lon,
            "capacity_kva": str(application.capacity_kva) if application.capacity_kva is not None else None,
            "category": application.category,
            "new_holder_name": application.new_holder_name,
            "note": application.note,
            "awaiting_since": application.awaiting_since.isoformat() if application.awaiting_since else None,
            "awaiting_reason": application.awaiting_reason,
            "completed_on": application.completed_on.isoformat() if application.completed_on else None,
            "handler_id": application.handler_id,
            "rating": (
                {"score": application.rating_score, "comment": application.rating_comment}
                if application.rating_score is not None
                else None
            ),
            "timeline": [
                {"at": clock.local(e.at).isoformat(timespec="minutes"), "action": e.action, "note": e.note}
                for e in events
            ],
            "uploads": [
                {"id": u.id, "doc_type": u.kind, "title": u.title, "at": clock.local(u.created_at).isoformat()}
                for u in uploads
            ],
        }
    )
    return view
