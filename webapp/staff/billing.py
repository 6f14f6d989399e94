"""The billing clerk's pages: find an account and read its ledger, record a counter payment and print its
receipt, import payment files and read their reconciliation, decide requests that need a second person.

Clerks and admins act, supervisors read. Every action calls the billing services (payments, imports,
adjustments); this module only parses forms and renders.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from billing.accounts import get_visible_account
from billing.adjustments import (
    adjustment_dict,
    decide_adjustment,
    get_visible_adjustment,
    request_adjustment,
    visible_adjustments,
)
from billing.commands import DecideAdjustment, RecordPayment, RequestAdjustment
from billing.imports import import_dict, import_payments, read_upload
from billing.ledger_view import account_ledger, payment_receipt, user_names, visible_payment
from billing.models import Account, Adjustment, AdjustmentStatus, Channel, PaymentImport
from billing.payments import post_payment, request_hash
from billing.queries import find_accounts, visible_imports
from core import clock
from core.db import db
from core.errors import DomainError, InvalidInput, NotFound
from core.identity import Role, User
from webapp.templating import STAFF_NAV

from ..errors import FormErrors, form_errors
from . import staff
from .access import staff_required, staff_user

WRITERS = (Role.CLERK, Role.ADMIN)
READERS = (Role.CLERK, Role.SUPERVISOR, Role.ADMIN)
KINDS = ("refund", "correction", "waiver")

# Codes shown as ``_(code)`` in the templates, listed so that the extractor finds them.
LABELS = {
    "Counter": _l("Counter"),
    "Payment files": _l("Payment files"),
    "Approvals": _l("Approvals"),
    "counter": _l("counter"),
    "bank": _l("bank"),
    "app": _l("app"),
    "third_party": _l("third_party"),
    "paid": _l("paid"),
    "unpaid": _l("unpaid"),
    "partial": _l("partial"),
    "refund": _l("refund"),
    "correction": _l("correction"),
    "waiver": _l("waiver"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "matched": _l("matched"),
    "unknown_account": _l("unknown_account"),
    "duplicate": _l("duplicate"),
    "amount_mismatch": _l("amount_mismatch"),
}

STAFF_NAV.append(("staff.billing_home", "Counter", frozenset(READERS)))
STAFF_NAV.append(("staff.billing_imports", "Payment files", frozenset(READERS)))
STAFF_NAV.append(("staff.billing_approvals", "Approvals", frozenset(READERS)))


def _can_act(user: User) -> bool:
    return user.role in WRITERS


def _payment_labels() -> dict[str, str]:
    return {"amount": _("Amount (yuan)"), "reference": _("Receipt or reference no.")}


def _request_labels() -> dict[str, str]:
    return {
        "kind": _("Kind"),
        "period": _("Bill (for corrections and waivers)"),
        "amount": _("Amount (yuan; a credit correction is negative)"),
        "reason": _("Reason"),
    }


def _file_labels() -> dict[str, str]:
    """The payment file's columns, by the names the page gives them."""
    return {
        "file": _("Payment file (CSV)"),
        "account_no": _("Account no."),
        "amount": _("Amount"),
        "paid_at": _("Paid at"),
        "channel": _("Channel"),
        "reference": _("Reference"),
    }


@staff.get("/billing")
@staff_required(*READERS)
def billing_home() -> Any:
    """The counter: find an account by number, holder or address; links to the ledger."""
    user = staff_user()
    q = request.args.get("q", "").strip()
    found = find_accounts(db.session, user, q) if q else []
    if q and len(found) == 1 and found[0].account_no == q:
        return redirect(url_for("staff.billing_ledger", account_no=q))
    pending = db.session.scalar(
        select(func.count()).select_from(
            visible_adjustments(user).where(Adjustment.status == AdjustmentStatus.PENDING).subquery()
        )
    )
    return render_template("billing/home.html", q=q, accounts=found, pending=pending or 0)


def _render_ledger(account: Account, status: int = 200, **forms: Any) -> Any:
    user = staff_user()
    ledger = account_ledger(db.session, account, clock.today_local())
    payment_form = forms.get("payment_form") or {"idempotency_key": uuid.uuid4().hex, "amount": "", "reference": ""}
    return (
        render_template(
            "billing/ledger.html",
            account=account,
            position=ledger["position"],
            ledger=ledger,
            can_act=_can_act(user),
            payment_form=payment_form,
            payment_errors=forms.get("payment_errors") or FormErrors(),
            request_form=forms.get("request_form") or {"kind": "waiver", "period": "", "amount": "", "reason": ""},
            request_errors=forms.get("request_errors") or FormErrors(),
            kinds=KINDS,
        ),
        status,
    )


@staff.get("/billing/accounts/<account_no>")
@staff_required(*READERS)
def billing_ledger(account_no: str) -> Any:
    return _render_ledger(get_visible_account(db.session, staff_user(), account_no))


@staff.post("/billing/accounts/<account_no>/payments")
@staff_required(*WRITERS)
def billing_record_payment(account_no: str) -> Any:
    """A counter payment. The form carries an idempotency key made when it was shown: submitting it twice
    (a double click, a reload) finds the first payment and shows its receipt again."""
    user = staff_user()
    account = get_visible_account(db.session, user, account_no)
    form = {
        "idempotency_key": request.form.get("idempotency_key", "").strip(),
        "amount": request.form.get("amount", "").strip(),
        "reference": request.form.get("reference", "").strip(),
    }
    try:
        command = RecordPayment.parse(
            {
                "account_no": account.account_no,
                "amount": form["amount"],
                "channel": Channel.COUNTER,
                "reference": form["reference"],
            }
        )
        command.check_recorder(user.role)
        fields = command.fields()
        payment, created = post_payment(
            db.session,
            account,
            fields,
            idempotency_key=form["idempotency_key"],
            digest=request_hash(fields, explicit_paid_at=False),
            actor_id=user.id,
        )
    except DomainError as exc:
        db.session.rollback()
        status = exc.status if exc.status in (409, 422) else 422
        if exc.code == "idempotency_key_reused":
            errors = FormErrors()
            errors.add(
                None, _("This form was already used for another payment. Check the payments below, then try again.")
            )
            form["idempotency_key"] = uuid.uuid4().hex
        else:
            errors = form_errors(exc, _payment_labels())
        account = get_visible_account(db.session, user, account_no)
        return _render_ledger(account, status, payment_form=form, payment_errors=errors)
    if created:
        flash(_("Payment recorded."), "ok")
    else:
        flash(_("This payment was already recorded; nothing was recorded twice."), "ok")
    return redirect(url_for("staff.billing_receipt", payment_id=payment.id))


@staff.get("/billing/payments/<int:payment_id>/receipt")
@staff_required(*READERS)
def billing_receipt(payment_id: int) -> Any:
    payment, account = visible_payment(db.session, staff_user(), payment_id)
    return render_template("billing/receipt.html", receipt=payment_receipt(db.session, payment, account))


@staff.post("/billing/accounts/<account_no>/requests")
@staff_required(*WRITERS)
def billing_file_request(account_no: str) -> Any:
    """File a refund, correction or late-fee waiver; it waits for a second person on the approvals page."""
    user = staff_user()
    account = get_visible_account(db.session, user, account_no)
    form = {k: request.form.get(k, "").strip() for k in ("kind", "period", "amount", "reason")}
    try:
        command = RequestAdjustment.parse({**form, "account_no": account.account_no})
        request_adjustment(db.session, account, command, actor=user, on=clock.today_local())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        account = get_visible_account(db.session, user, account_no)
        return _render_ledger(account, 422, request_form=form, request_errors=form_errors(exc, _request_labels()))
    flash(_("Request filed. Another clerk must approve it."), "ok")
    return redirect(url_for("staff.billing_ledger", account_no=account.account_no) + "#requests")


@staff.get("/billing/approvals")
@staff_required(*READERS)
def billing_approvals() -> Any:
    user = staff_user()
    base = visible_adjustments(user)
    pending = list(
        db.session.scalars(base.where(Adjustment.status == AdjustmentStatus.PENDING).order_by(Adjustment.id))
    )
    decided = list(
        db.session.scalars(
            base.where(Adjustment.status != AdjustmentStatus.PENDING).order_by(Adjustment.decided_at.desc()).limit(50)
        )
    )
    rows = [adjustment_dict(a) for a in pending]
    done = [adjustment_dict(a) for a in decided]
    names = user_names(db.session, {r["requested_by"] for r in rows + done} | {r["decided_by"] for r in done})
    for row in rows + done:
        row["requested_by_name"] = names.get(row["requested_by"], "")
        row["decided_by_name"] = names.get(row["decided_by"], "") if row["decided_by"] else ""
        row["mine"] = row["requested_by"] == user.id
    return render_template("billing/approvals.html", pending=rows, decided=done, can_act=_can_act(user))


@staff.post("/billing/approvals/<int:adjustment_id>/decision")
@staff_required(*WRITERS)
def billing_decide(adjustment_id: int) -> Any:
    """Approve or reject with a reason. The requester is refused by the domain (a second person decides)."""
    user = staff_user()
    adj = get_visible_adjustment(db.session, user, adjustment_id)
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    try:
        command = DecideAdjustment.parse({"approve": decision == "approve", "note": request.form.get("note", "")})
        decide_adjustment(db.session, adj, command, actor=user, on=clock.today_local())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if exc.code == "second_person_required":
            flash(_("You filed this request: another clerk must decide it."), "error")
        elif exc.code == "already_decided":
            flash(_("This request has already been decided."), "error")
        else:
            flash(" ".join(form_errors(exc, {"note": _("Reason for the decision")}).summary), "error")
        return redirect(url_for("staff.billing_approvals") + f"#request-{adjustment_id}")
    flash(_("Request approved.") if decision == "approve" else _("Request rejected."), "ok")
    return redirect(url_for("staff.billing_approvals"))


def _imports_page(status: int = 200, errors: FormErrors | None = None) -> Any:
    user = staff_user()
    batches = list(db.session.scalars(visible_imports(user).order_by(PaymentImport.id.desc()).limit(50)))
    names = user_names(db.session, {b.imported_by for b in batches})
    errors = errors or FormErrors()
    return (
        render_template(
            "billing/imports.html",
            imports=[
                {**import_dict(b, with_rows=False), "imported_by_name": names.get(b.imported_by or 0, "")}
                for b in batches
            ],
            can_act=_can_act(user),
            errors=errors,
            bad_rows=sorted(errors.rows.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0),
        ),
        status,
    )


@staff.get("/billing/imports")
@staff_required(*READERS)
def billing_imports() -> Any:
    return _imports_page()


@staff.post("/billing/imports")
@staff_required(*WRITERS)
def billing_import_upload() -> Any:
    """Import a payment file in one transaction; a file with any bad row imports nothing."""
    upload = request.files.get("file")
    name = upload.filename if upload is not None else None
    try:
        content = read_upload(upload.stream if upload is not None and name else None)
        batch = import_payments(db.session, name or "", content, actor=staff_user())
        db.session.commit()
    except InvalidInput as exc:
        db.session.rollback()
        return _imports_page(422, form_errors(exc, _file_labels()))
    flash(_("File imported."), "ok")
    return redirect(url_for("staff.billing_import", import_id=batch.id))


@staff.get("/billing/imports/<int:import_id>")
@staff_required(*READERS)
def billing_import(import_id: int) -> Any:
    batch = db.session.scalar(visible_imports(staff_user()).where(PaymentImport.id == import_id))
    if batch is None:
        raise NotFound("payment_import_not_found")
    data = import_dict(batch)
    data["imported_by_name"] = user_names(db.session, {batch.imported_by}).get(batch.imported_by or 0, "")
    return render_template("billing/import.html", batch=data)
