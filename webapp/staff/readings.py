"""The meter reader's and the reviewer's pages: reading entry by reading book (抄表段), the handheld reader's CSV
import, the review queue of held readings (异常复核) with the account's usage chart, and the meter change (换表).

Clerks and admins act, supervisors read. Every reading goes through billing's checks (``billing.bills``); this
module parses forms and renders.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from billing.accounts import get_visible_account
from billing.bills import previous_reading
from billing.commands import RecordMeterChange, ReviewReading
from billing.imports import read_upload
from billing.models import Account, MeterReading, ReadingBook, ReadingImport, ReadingStatus
from billing.reading_books import (
    book_sheet,
    book_sizes,
    create_reading_import,
    enter_readings,
    reading_import_dict,
    visible_books,
    visible_reading_imports,
)
from billing.readings import get_visible_reading, record_meter_change, review_reading, visible_readings
from billing.rules import parse_period, shift_period
from billing.services import usage_series
from core import clock
from core.db import db
from core.errors import DomainError, InvalidInput, NotFound
from core.identity import Role, User
from webapp.templating import STAFF_NAV

from ..errors import FormErrors, form_errors, render
from ..portal._billing import kwh, usage_chart
from . import staff
from .access import staff_required, staff_user

WRITERS = (Role.CLERK, Role.ADMIN)
READERS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)

LABELS = {
    "Meter reading": _l("Meter reading"),
    "Reading review": _l("Reading review"),
    "passed": _l("passed"),
    "held": _l("held for review"),
    "accepted": _l("accepted as entered"),
    "corrected": _l("corrected on review"),
    "billed": _l("billed"),
    "refused": _l("refused"),
    "queued": _l("queued"),
    "running": _l("running"),
    "done": _l("done"),
    "failed": _l("failed"),
    "replacement": _l("meter replaced"),
    "rollover": _l("register rolled over"),
}
BASIS = {"recent_average": _l("the recent average"), "same_month_last_year": _l("the same month last year")}
REGISTERS = {
    "reading": _l("the meter reading"),
    "peak": _l("the peak register"),
    "flat": _l("the flat register"),
    "valley": _l("the valley register"),
}

STAFF_NAV.append(("staff.reading_books", "Meter reading", frozenset(READERS)))


@staff.context_processor
def _reading_label_helper() -> dict[str, Any]:
    return {"reading_label": lambda code: str(LABELS.get(code, code))}


STAFF_NAV.append(("staff.reading_queue", "Reading review", frozenset(READERS)))


def check_text(check: dict[str, Any]) -> str:
    """A failed check as a sentence in the reader's language."""
    code = check.get("code")
    if code == "reading_lower_than_last":
        register = REGISTERS.get(str(check.get("register")), check.get("register"))
        return _("%(register)s below the last reading %(last)s", register=register, last=check.get("last"))
    if code == "zero_usage":
        return _("no usage, where the same month last year used %(kwh)s kWh", kwh=check.get("last_year_kwh"))
    if code in ("usage_spike", "usage_drop"):
        text = (
            _("sudden rise: %(kwh)s kWh, more than %(factor)s times %(basis)s (%(baseline)s kWh)")
            if code == "usage_spike"
            else _("sudden fall: %(kwh)s kWh, less than 1/%(factor)s of %(basis)s (%(baseline)s kWh)")
        )
        basis = BASIS.get(str(check.get("basis")), check.get("basis"))
        return text % {**check, "basis": basis}
    if code == "outside_category_range":
        return _(
            "far outside the range of %(category)s accounts: %(kwh)s kWh, above %(high)s kWh",
            category=_(str(check.get("category"))),
            kwh=check.get("kwh"),
            high=check.get("high"),
        )
    return str(code)


def _reading_labels() -> dict[str, str]:
    return {
        "account_no": _("Account no."),
        "period": _("Period"),
        "reading": _("Reading"),
        "peak": _("Peak reading"),
        "flat": _("Flat reading"),
        "valley": _("Valley reading"),
        "note": _("Note"),
        "file": _("Reading file (CSV)"),
    }


def _change_labels() -> dict[str, str]:
    return {
        "period": _("First period on the new meter"),
        "kind": _("Kind"),
        "changed_on": _("Changed on"),
        "old_final": _("Old meter: final reading"),
        "new_start": _("New meter: start reading"),
        "multiplier": _("New meter: multiplier"),
        "note": _("Note"),
    }


def _outcome_text(row: dict[str, Any]) -> str:
    """A refused row's reason (every problem, with the page's labels), or a held row's checks, as text."""
    if row["outcome"] == "refused":
        return "; ".join(form_errors(row["error"], _reading_labels()).summary)
    return "; ".join(check_text(c) for c in row.get("checks") or [])


def _period_arg() -> str:
    default = shift_period(clock.today_local().strftime("%Y-%m"), -1)
    return parse_period(request.values.get("period", "")) or default


def _book(book_id: int, user: User) -> ReadingBook:
    book = db.session.scalar(visible_books(user).where(ReadingBook.id == book_id))
    if book is None:
        raise NotFound("reading_book_not_found")
    return book


@staff.get("/billing/reading-books")
@staff_required(*READERS)
def reading_books() -> Any:
    """The reading books of the caller's units, with how many of their accounts have the period's reading."""
    user = staff_user()
    period = _period_arg()
    books = list(db.session.scalars(visible_books(user)))
    sizes = book_sizes(db.session, [b.id for b in books])
    read = dict(
        db.session.execute(
            select(Account.reading_book_id, func.count())
            .join(MeterReading, MeterReading.account_id == Account.id)
            .where(Account.reading_book_id.in_([b.id for b in books]), MeterReading.period == period)
            .group_by(Account.reading_book_id)
        ).all()
    )
    held = db.session.scalar(
        select(func.count()).select_from(visible_readings(user, ReadingStatus.HELD).order_by(None).subquery())
    )
    rows = [{"book": b, "size": sizes.get(b.id, 0), "read": read.get(b.id, 0)} for b in books]
    return render_template("billing/reading_books.html", rows=rows, period=period, held=held or 0)


@staff.route("/billing/reading-books/<int:book_id>", methods=["GET", "POST"])
@staff_required(*READERS)
def reading_book(book_id: int) -> Any:
    """One book's sheet for a period: the accounts in route order, a reading field each (Enter moves on)."""
    user = staff_user()
    book = _book(book_id, user)
    period = _period_arg()
    report = None
    status = 200
    typed: dict[str, str] = {}
    if request.method == "POST":
        if user.role not in WRITERS:
            return ("", 403)
        typed = {
            key.removeprefix("reading-"): value.strip()
            for key, value in request.form.items()
            if key.startswith("reading-") and value.strip()
        }
        sheet_accounts = {row["account_no"] for row in book_sheet(db.session, book, period)}
        rows = [
            {"line": account_no, "account_no": account_no, "period": period, "reading": value}
            for account_no, value in typed.items()
            if account_no in sheet_accounts
        ]
        report = enter_readings(db.session, user, rows, actor_id=user.id)
        db.session.commit()
        for row in report["rows"]:
            row["text"] = _outcome_text(row)
        typed = {row["account_no"]: typed[row["account_no"]] for row in report["rows"] if row["outcome"] == "refused"}
        status = 422 if report["refused"] else 200
    sheet = book_sheet(db.session, book, period)
    for row in sheet:
        row["check_texts"] = [check_text(c) for c in row["checks"]]
    outcomes = {row["account_no"]: row for row in (report or {}).get("rows", [])}
    return (
        render_template(
            "billing/reading_book.html",
            book=book,
            period=period,
            sheet=sheet,
            report=report,
            outcomes=outcomes,
            typed=typed,
            can_act=user.role in WRITERS,
        ),
        status,
    )


def _stored_outcome_text(row: dict[str, Any]) -> str:
    """A held or refused row of a stored import report as text (its codes rendered in the reader's language)."""
    if row["outcome"] == "held":
        return "; ".join(check_text(c) for c in row.get("checks") or [])
    labels = _reading_labels()
    fields = row.get("fields") or {}
    if fields:
        return "; ".join(
            _("%(field)s: %(problem)s", field=labels.get(name, name), problem=render(code, params))
            for name, (code, params) in fields.items()
        )
    return render(row["code"], row.get("params") or {})


def _imports_page(status: int = 200, errors: FormErrors | None = None) -> Any:
    user = staff_user()
    batches = [
        reading_import_dict(b, with_report=False) for b in db.session.scalars(visible_reading_imports(user).limit(30))
    ]
    return (
        render_template(
            "billing/reading_import.html", imports=batches, errors=errors or FormErrors(), can_act=user.role in WRITERS
        ),
        status,
    )


@staff.get("/billing/reading-imports")
@staff_required(*READERS)
def reading_import() -> Any:
    """Upload a handheld reader's CSV file; the files imported by the caller's units."""
    return _imports_page()


@staff.post("/billing/reading-imports")
@staff_required(*WRITERS)
def reading_import_upload() -> Any:
    """Store the file (one that is not a reader file is refused at once) and follow its import on its own page."""
    upload = request.files.get("file")
    name = upload.filename if upload is not None else None
    try:
        content = read_upload(upload.stream if upload is not None and name else None)
        batch = create_reading_import(db.session, name or "", content, actor=staff_user())
        db.session.commit()
    except InvalidInput as exc:
        db.session.rollback()
        return _imports_page(422, form_errors(exc, _reading_labels()))
    return redirect(url_for("staff.reading_import_detail", import_id=batch.id))


@staff.get("/billing/reading-imports/<int:import_id>")
@staff_required(*READERS)
def reading_import_detail(import_id: int) -> Any:
    """One file's import: its progress while it runs (the page follows it), then the rows held or refused."""
    batch = db.session.scalar(visible_reading_imports(staff_user()).where(ReadingImport.id == import_id))
    if batch is None:
        raise NotFound("reading_import_not_found")
    data = reading_import_dict(batch)
    for row in data["report"]:
        row["text"] = _stored_outcome_text(row)
    return render_template("billing/reading_import_detail.html", batch=data)


@staff.get("/billing/readings/held")
@staff_required(*READERS)
def reading_queue() -> Any:
    """The review queue (异常复核): held readings of the caller's units, oldest period first."""
    user = staff_user()
    readings = list(db.session.scalars(visible_readings(user, ReadingStatus.HELD).limit(500)))
    rows = [
        {
            "reading": r,
            "account": r.account,
            "checks": [check_text(c) for c in r.checks or []],
            "mine": r.recorded_by == user.id,
        }
        for r in readings
    ]
    return render_template("billing/reading_queue.html", rows=rows)


def _review_page(
    reading: MeterReading, status: int = 200, errors: FormErrors | None = None, form: dict[str, str] | None = None
) -> Any:
    user = staff_user()
    account = reading.account
    last = previous_reading(db.session, account.id, reading.period)
    series = usage_series(db.session, account, 13, clock.today_local())
    return (
        render_template(
            "billing/reading_review.html",
            reading=reading,
            account=account,
            last=last,
            checks=[check_text(c) for c in reading.checks or []],
            chart=usage_chart(series),
            kwh=kwh,
            can_act=user.role in WRITERS and reading.recorded_by != user.id,
            mine=reading.recorded_by == user.id,
            errors=errors or FormErrors(),
            form=form or {},
        ),
        status,
    )


@staff.get("/billing/readings/<int:reading_id>")
@staff_required(*READERS)
def reading_review(reading_id: int) -> Any:
    return _review_page(get_visible_reading(db.session, staff_user(), reading_id))


@staff.post("/billing/readings/<int:reading_id>/review")
@staff_required(*WRITERS)
def reading_decide(reading_id: int) -> Any:
    """Accept or correct; the one who entered the reading is refused by the domain (a second person reviews)."""
    user = staff_user()
    reading = get_visible_reading(db.session, user, reading_id)
    form = {k: request.form.get(k, "") for k in ("decision", "reading", "note")}
    try:
        command = ReviewReading.parse({k: v for k, v in form.items() if v != "" or k == "decision"})
        review_reading(db.session, reading, command, actor=user)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        reading = get_visible_reading(db.session, user, reading_id)
        return _review_page(
            reading, 409 if exc.status == 409 else exc.status, form_errors(exc, _reading_labels()), form
        )
    flash(
        _("Reading accepted and billed.") if form["decision"] == "accept" else _("Reading corrected and billed."), "ok"
    )
    return redirect(url_for("staff.reading_queue"))


@staff.route("/billing/accounts/<account_no>/meter-change", methods=["GET", "POST"])
@staff_required(*READERS)
def meter_change(account_no: str) -> Any:
    """Record a meter change (换表) or a rollover before the period's reading."""
    user = staff_user()
    account = get_visible_account(db.session, user, account_no)
    form = {
        k: request.form.get(k, "")
        for k in ("period", "kind", "changed_on", "old_final", "new_start", "multiplier", "note")
    }
    errors = FormErrors()
    status = 200
    if request.method == "POST":
        if user.role not in WRITERS:
            return ("", 403)
        try:
            command = RecordMeterChange.parse(
                {"account_no": account.account_no, **{k: v for k, v in form.items() if v != ""}}
            )
            record_meter_change(db.session, account, command, actor_id=user.id)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            errors = form_errors(exc, _change_labels())
            status = 422 if exc.status == 422 else 409
            account = get_visible_account(db.session, user, account_no)
        else:
            flash(_("Meter change recorded."), "ok")
            return redirect(url_for("staff.billing_ledger", account_no=account.account_no))
    if not form["period"]:
        form["period"] = clock.today_local().strftime("%Y-%m")
        form["kind"] = "replacement"
    last = previous_reading(db.session, account.id, form["period"]) if parse_period(form["period"]) else None
    return (
        render_template(
            "billing/meter_change.html",
            account=account,
            form=form,
            errors=errors,
            last=last,
            can_act=user.role in WRITERS,
        ),
        status,
    )
