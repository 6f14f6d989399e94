"""Business handling's use cases: apply, work each step in order, return to and resume from the customer,
withdraw, assign, rate, and the account change of the applying step.

Every change appends to the application's timeline (``ApplicationEvent``) and to the trail, and announces itself
on the outbox in the same transaction: the applicant's notice and the filing of the step's sheet exist exactly
when the change does. Accounts change here only (and in the admin's import): the applying step of a completed
application opens or changes the account, and the trail records the account's state before and after.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.accounts import account_snapshot
from billing.models import Account, AccountStatus
from billing.reading_books import place_on_a_book
from billing.tariffs import tariff_for
from core import clock, outbox, trail, workdays
from core.db import utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from core.identity import AccountBinding, Role, User, ensure_root_unit, unit_by_code
from core.scope import account_in_scope, can_see_unit
from core.security import keyed_hash

from . import flows, queries, settings
from .commands import AddUpload, Apply, Assign, DoStep, Rate
from .models import (
    OPEN_STATUSES,
    Application,
    ApplicationEvent,
    ApplicationStatus,
    ApplicationStep,
    ApplicationType,
    ApplicationUpload,
    StepName,
)
from .topics import APPLICATION_CHANGED, PAPERS_DUE

A, T = ApplicationStatus, ApplicationType
# what each change type needs the account to be before it can be applied for
_NEEDS_STATUS: dict[str, tuple[str, ...]] = {
    T.SUSPENSION: (AccountStatus.ACTIVE,),
    T.RESUMPTION: (AccountStatus.SUSPENDED,),
    T.CLOSURE: (AccountStatus.ACTIVE, AccountStatus.SUSPENDED),
}


def holder_key(name: str, id_hash: str | None, credit_code: str | None) -> str:
    """Who a holder is, for matching applications and accounts of one holder: the name without spaces, and the
    credit code of an organisation or the keyed hash of a person's ID digits."""
    return f"{''.join(name.split())}|{credit_code or id_hash or ''}"


def _check_account(session: Session, actor: User, command: Apply) -> Account | None:
    if command.type in flows.NEW_CONNECTIONS:
        return None
    account = session.scalar(
        select(Account).where(Account.account_no == command.account_no, account_in_scope(actor, Account.id))
    )
    if account is None:
        raise InvalidInput.fields({"account_no": Problem("unknown_account")})
    open_one = session.scalar(
        select(Application.application_no).where(
            Application.account_id == account.id, Application.status.in_(OPEN_STATUSES)
        )
    )
    if open_one is not None:
        raise Conflict("application_open", application_no=open_one)
    allowed = _NEEDS_STATUS.get(command.type, (AccountStatus.ACTIVE,))
    if account.status not in allowed:
        raise Conflict("account_status_forbids", status=account.status, type=command.type)
    capacity = command.capacity_kva
    if command.type == T.CAPACITY_INCREASE and capacity is not None and capacity <= account.capacity_kva:
        raise InvalidInput.fields({"capacity_kva": Problem("above", min=str(account.capacity_kva))})
    if command.type == T.CAPACITY_REDUCTION and capacity is not None and capacity >= account.capacity_kva:
        raise InvalidInput.fields({"capacity_kva": Problem("below", max=str(account.capacity_kva))})
    if command.type == T.CATEGORY_CHANGE and command.category == account.category:
        raise InvalidInput.fields({"category": Problem("unchanged")})
    return account


def _unit_id(session: Session, actor: User, command: Apply, account: Account | None) -> int:
    if account is not None:
        return account.unit_id
    if command.unit_code is not None:
        unit = unit_by_code(session, command.unit_code)
        if unit is None or actor.role == Role.CUSTOMER or not can_see_unit(actor, unit):
            raise InvalidInput.fields({"unit_code": Problem("unknown_unit")})
        return unit.id
    if actor.role != Role.CUSTOMER and actor.unit_id is not None:
        return actor.unit_id
    site = command.site
    if site is not None and site.lat is not None and site.lon is not None:
        unit_id = queries.nearest_account_unit(session, site.lat, site.lon)
        if unit_id is not None:
            return unit_id
    return ensure_root_unit(session).id


def plan(application: Application) -> None:
    """Each open step's due date, from the previous step's completion (or the receipt) plus its limit and the
    working days the clock stood still in it; the application's current step and due date."""
    start = application.received_on
    current: ApplicationStep | None = None
    for step in sorted(application.steps, key=lambda s: s.position):
        if step.done_on is not None:
            start = step.done_on
            continue
        step.due_on = workdays.add(start, step.limit_days + step.waited_days)
        start = step.due_on
        current = current or step
    application.current_step = current.step if current else None
    waiting = application.status == A.AWAITING_CUSTOMER
    application.due_on = current.due_on if current is not None and not waiting else None
    total = flows.TOTAL_LIMITS.get(application.type)
    if total is not None:
        waited = sum(s.waited_days for s in application.steps)
        application.total_due_on = workdays.add(application.received_on, total + waited)


def _event(
    session: Session,
    application: Application,
    action: str,
    actor: User | None,
    note: str | None = None,
    *,
    step: str | None = None,
    at: dt.datetime | None = None,
) -> ApplicationEvent:
    event = ApplicationEvent(action=action, note=note, actor_id=actor.id if actor else None, at=at or utcnow())
    application.events.append(event)
    session.flush()
    told = application.applicant_id
    outbox.put(
        session,
        APPLICATION_CHANGED,
        {
            "application_id": application.id,
            "application_no": application.application_no,
            "event_id": event.id,
            "action": action,
            "status": application.status,
            "type": application.type,
            "step": step,
            "user_ids": [told] if told is not None and (actor is None or actor.id != told) else [],
        },
    )
    trail.record(
        session,
        actor_id=actor.id if actor else None,
        action=f"application.{action}",
        entity="application",
        entity_id=application.application_no,
        after={"status": application.status, "step": step, "note": note},
    )
    return event


def _papers_due(session: Session, application: Application) -> None:
    outbox.put(session, PAPERS_DUE, {"application_id": application.id, "application_no": application.application_no})


def apply(
    session: Session,
    actor: User,
    command: Apply,
    *,
    id_hash_key: str,
    received_at: dt.datetime | None = None,
) -> Application:
    """Receive an application from a customer (their own) or from staff on a customer's behalf: its unit, its
    steps with their due dates; the acceptance step is the staff's first."""
    account = _check_account(session, actor, command)
    received = received_at or utcnow()
    applicant = command.applicant
    id_digits = applicant.id_last4 or (applicant.credit_code or "")[-4:]
    id_hash = keyed_hash(id_hash_key, id_digits) if applicant.id_last4 else None
    site = command.site
    application = Application(
        application_no="pending",
        type=command.type,
        status=A.IN_PROGRESS,
        unit_id=_unit_id(session, actor, command, account),
        account_id=account.id if account else None,
        applicant_id=actor.id if actor.role == Role.CUSTOMER else None,
        applicant_name=applicant.name,
        applicant_phone=applicant.phone,
        id_last4_hash=id_hash,
        credit_code=applicant.credit_code,
        holder_key=holder_key(applicant.name, id_hash, applicant.credit_code),
        address=site.address if site else (account.address if account else ""),
        lat=site.lat if site and site.lat is not None else (account.lat if account else None),
        lon=site.lon if site and site.lon is not None else (account.lon if account else None),
        capacity_kva=command.capacity_kva,
        category=str(command.category) if command.category else None,
        new_holder_name=command.new_holder_name,
        note=command.note,
        received_at=received,
        received_on=clock.local(received).date(),
    )
    for position, step in enumerate(flows.steps_of(command.type)):
        application.steps.append(
            ApplicationStep(
                step=step.name, position=position, limit_days=flows.limit_days(command.type, step.name), waited_days=0
            )
        )
    plan(application)
    session.add(application)
    session.flush()
    application.application_no = f"YK{clock.local(received):%Y%m%d}{application.id:06d}"
    _event(session, application, "received", actor, command.note, at=received)
    return application


def _open(application: Application) -> None:
    if application.status not in OPEN_STATUSES:
        raise Conflict("application_closed", application_no=application.application_no, status=application.status)


def _staff(actor: User) -> None:
    if actor.role == Role.CUSTOMER:
        raise Forbidden("staff_only")


def _check_tariff(session: Session, code: str | None, on: dt.date) -> dict[str, Problem]:
    if code is None:
        return {}
    try:
        tariff_for(session, code, on)
    except NotFound:
        return {"fields.tariff_code": Problem("unknown_tariff")}
    return {}


def _required_fields(session: Session, application: Application, step: str, command: DoStep) -> dict[str, Any]:
    """The step's fields, with the ones it cannot go without checked (422 naming each missing one)."""
    fields = command.fields.model_dump(exclude_none=True, mode="json")
    needed: tuple[str, ...] = {
        StepName.SITE_SURVEY: ("findings",),
        StepName.SUPPLY_PLAN: ("voltage", "capacity_kva", "source_count", "metering"),
        StepName.DESIGN_REVIEW: ("result",),
        StepName.INTERIM_CHECK: ("result",),
        StepName.COMPLETION_CHECK: ("result",),
        StepName.CONTRACT: ("contract_no",),
        StepName.CONNECTION: ("meter_no",),
    }.get(StepName(step), ())
    if step == StepName.CONNECTION and application.type in flows.NEW_CONNECTIONS:
        needed = (*needed, "tariff_code")
    missing = {f"fields.{name}": Problem("required") for name in needed if name not in fields}
    today = clock.today_local()
    for name in ("connected_on", "handed_over_on"):
        value = command.fields.model_dump().get(name)
        if value is not None and value > today:
            missing[f"fields.{name}"] = Problem("in_future")
        elif value is not None and value < application.received_on:
            missing[f"fields.{name}"] = Problem("before_application")
    missing.update(_check_tariff(session, command.fields.tariff_code, command.fields.connected_on or today))
    if missing:
        raise InvalidInput.fields(missing)
    return fields


def complete_step(
    session: Session,
    actor: User,
    application: Application,
    step: str,
    command: DoStep,
    *,
    at: dt.datetime | None = None,
) -> Application:
    """Do the application's current step, or return the application to the customer from it (the clock stops).

    Steps are done in their type's order: any other step is refused (409 ``step_out_of_order``). A check whose
    result is "failed" stays open with the failure in the timeline. The applying step changes the account.
    ``at`` backdates the work (demo data and the import of work done before the system)."""
    _staff(actor)
    _open(application)
    if step not in flows.step_names(application.type):
        raise NotFound("step_not_in_type", step=step, type=application.type)
    if application.status == A.AWAITING_CUSTOMER:
        raise Conflict("awaiting_customer", application_no=application.application_no)
    if step != application.current_step:
        raise Conflict("step_out_of_order", step=step, expected=application.current_step or "")
    if command.outcome == "returned":
        application.status = A.AWAITING_CUSTOMER
        application.awaiting_since = clock.local(at).date() if at else clock.today_local()
        application.awaiting_reason = command.fields.note
        plan(application)
        _event(session, application, "returned", actor, command.fields.note, step=step, at=at)
        return application
    fields = _required_fields(session, application, step, command)
    row = next(s for s in application.steps if s.step == step)
    if step in flows.CHECKS and fields.get("result") == "failed":
        row.fields = fields
        _event(session, application, "check_failed", actor, fields.get("note"), step=step, at=at)
        return application
    row.fields, row.done_at, row.done_by_id = fields, at or utcnow(), actor.id
    row.done_on = clock.local(row.done_at).date()
    if step == flows.applying_step(application.type):
        _apply_to_account(session, application, fields, actor)
    plan(application)
    if application.current_step is None:
        application.status = A.COMPLETED
        application.completed_on = row.done_on
    _event(session, application, step, actor, fields.get("note"), step=step, at=at)
    if application.status == A.COMPLETED:
        _event(session, application, "completed", actor, step=step, at=at)
    _papers_due(session, application)
    return application


def _granted_capacity(application: Application) -> Decimal | None:
    for step in application.steps:
        if step.step == StepName.SUPPLY_PLAN and step.fields and step.fields.get("capacity_kva") is not None:
            return Decimal(str(step.fields["capacity_kva"]))
    return application.capacity_kva


def _next_account_no(session: Session) -> str:
    numbers = session.scalars(select(Account.account_no).order_by(Account.id.desc()).limit(200))
    highest = max((int(n) for n in numbers if n.isdigit()), default=3300000000)
    candidate = highest + 1
    while session.scalar(select(Account.id).where(Account.account_no == str(candidate))) is not None:
        candidate += 1
    return str(candidate)


def _apply_to_account(session: Session, application: Application, fields: dict[str, Any], actor: User) -> None:
    """Open the account of a new connection, or change the account the application names; trail both."""
    done_on = next(s.done_on for s in application.steps if s.step == flows.applying_step(application.type))
    connected_on = dt.date.fromisoformat(fields["connected_on"]) if "connected_on" in fields else done_on
    if application.type in flows.NEW_CONNECTIONS:
        account = Account(
            account_no=_next_account_no(session),
            holder_name=application.applicant_name,
            id_last4_hash=application.id_last4_hash or keyed_hash("credit-code", application.credit_code or ""),
            address=application.address,
            lat=application.lat,
            lon=application.lon,
            category=application.category or "residential",
            capacity_kva=_granted_capacity(application) or Decimal(0),
            tariff_code=str(fields["tariff_code"]),
            unit_id=application.unit_id,
            status=AccountStatus.ACTIVE,
            connected_on=connected_on,
        )
        session.add(account)
        session.flush()
        place_on_a_book(session, account)
        application.account_id = account.id
        trail.record(
            session,
            actor_id=actor.id,
            action="account.created",
            entity="account",
            entity_id=account.account_no,
            after={**account_snapshot(account), "application_no": application.application_no},
        )
        if application.applicant_id is not None:  # the applicant proved who they are when applying
            session.add(AccountBinding(user_id=application.applicant_id, account_id=account.id))
            trail.record(
                session,
                actor_id=actor.id,
                action="account.bound",
                entity="account",
                entity_id=account.account_no,
                after={"user_id": application.applicant_id, "application_no": application.application_no},
            )
        return
    changed = session.get(Account, application.account_id)
    assert changed is not None
    _change_account(session, application, changed, fields, actor)


def _change_account(
    session: Session, application: Application, account: Account, fields: dict[str, Any], actor: User
) -> None:
    before = account_snapshot(account)
    kind = application.type
    if kind in (T.CAPACITY_INCREASE, T.CAPACITY_REDUCTION):
        account.capacity_kva = _granted_capacity(application) or account.capacity_kva
    elif kind == T.SUSPENSION:
        account.status = AccountStatus.SUSPENDED
    elif kind == T.RESUMPTION:
        account.status = AccountStatus.ACTIVE
    elif kind == T.CLOSURE:
        account.status = AccountStatus.CLOSED
    elif kind in (T.NAME_CHANGE, T.TRANSFER):
        account.holder_name = application.new_holder_name or account.holder_name
        if kind == T.TRANSFER and application.id_last4_hash:
            account.id_last4_hash = application.id_last4_hash
    elif kind == T.CATEGORY_CHANGE:
        account.category = application.category or account.category
    if fields.get("tariff_code"):
        account.tariff_code = str(fields["tariff_code"])
    session.flush()
    trail.record(
        session,
        actor_id=actor.id,
        action="account.changed",
        entity="account",
        entity_id=account.account_no,
        before=before,
        after={**account_snapshot(account), "application_no": application.application_no},
    )


def resume(
    session: Session, actor: User, application: Application, note: str | None = None, *, at: dt.datetime | None = None
) -> Application:
    """The customer answered (documents brought or sent, fees paid): the clock runs again, the working days
    waited added to the current step's limit."""
    if application.status != A.AWAITING_CUSTOMER:
        raise Conflict("not_awaiting_customer", application_no=application.application_no)
    assert application.awaiting_since is not None
    today = clock.local(at).date() if at else clock.today_local()
    row = next(s for s in application.steps if s.step == application.current_step)
    row.waited_days += workdays.count(application.awaiting_since, today)
    application.status = A.IN_PROGRESS
    application.awaiting_since, application.awaiting_reason = None, None
    plan(application)
    _event(session, application, "resumed", actor, note, step=row.step, at=at)
    return application


def withdraw(session: Session, actor: User, application: Application) -> Application:
    """The applicant withdraws an open application (before its account was changed)."""
    if actor.role != Role.CUSTOMER or application.applicant_id != actor.id:
        raise Forbidden("applicant_only")
    _open(application)
    application.status = A.WITHDRAWN
    application.withdrawn_on = clock.today_local()
    application.awaiting_since = None
    plan(application)
    application.due_on = None
    _event(session, application, "withdrawn", actor)
    return application


def assign(session: Session, actor: User, application: Application, command: Assign) -> Application:
    """Give the application to a member of staff who may see it."""
    _staff(actor)
    _open(application)
    handler = session.get(User, command.handler_id)
    if handler is None or handler.role == Role.CUSTOMER or queries.visible_to(session, handler, application) is None:
        raise InvalidInput.fields({"handler_id": Problem("unknown_handler")})
    application.handler_id = handler.id
    _event(session, application, "assigned", actor, handler.name or handler.username)
    return application


def rate(session: Session, actor: User, application: Application, command: Rate) -> Application:
    """The applicant rates a completed application, once."""
    if application.applicant_id != actor.id:
        raise Forbidden("applicant_only")
    if application.status != A.COMPLETED:
        raise Conflict("not_completed", application_no=application.application_no)
    if application.rating_score is not None:
        raise Conflict("application_already_rated", application_no=application.application_no)
    application.rating_score, application.rating_comment = command.score, command.comment
    application.rated_at = utcnow()
    _event(session, application, "rated", actor, command.comment)
    return application


def add_upload(
    session: Session, actor: User, application: Application, command: AddUpload, content: bytes, content_type: str
) -> ApplicationUpload:
    """A paper for an open application (``content`` already checked by ``uploads.checked_paper``); an application
    waiting for the customer's documents runs again when the applicant sends one."""
    _open(application)
    count = session.scalar(
        select(func.count()).select_from(ApplicationUpload).where(ApplicationUpload.application_id == application.id)
    )
    if (count or 0) >= int(settings.get("CONNECTIONS_UPLOADS_MAX")):
        raise Conflict("too_many_uploads", limit=int(settings.get("CONNECTIONS_UPLOADS_MAX")))
    upload = ApplicationUpload(
        application_id=application.id,
        kind=command.doc_type,
        title=command.title or "",
        content_type=content_type,
        content=content,
    )
    session.add(upload)
    session.flush()
    _event(session, application, "uploaded", actor, upload.title or upload.kind)
    if application.status == A.AWAITING_CUSTOMER and actor.id == application.applicant_id:
        resume(session, actor, application)
    _papers_due(session, application)
    return upload
