from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from billing.accounts import get_visible_account, visible_accounts
from billing.ledger import account_position
from billing.queries import ACCOUNT_EXPORT_COLUMNS, account_export_rows, find_accounts
from core import clock
from core.db import db
from core.errors import DomainError
from core.identity import ALL_ROLES, STAFF_ROLES, Role, create_unit, create_user
from core.scope import unit_in_scope, visible_units, visible_users

from ..auth import end_session, sign_in_attempt, start_session
from ..errors import error_message, form_errors
from ..exports import csv_response, xlsx_response
from . import staff
from .access import staff_required, staff_user


def _safe_next(target: str | None, default: str) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/"):
        return target
    return default


@staff.route("/login", methods=["GET", "POST"])
def sign_in() -> Any:
    error = None
    if request.method == "POST":
        try:
            user = sign_in_attempt(request.form.get("username", ""), request.form.get("password", ""), STAFF_ROLES)
            if user is None:
                error = _("Wrong username or password.")
            else:
                start_session(user)
                return redirect(_safe_next(request.args.get("next"), url_for("staff.dashboard")))
        except DomainError as exc:
            error = error_message(exc)
    return render_template("staff/login.html", error=error), 401 if error else 200


@staff.post("/logout")
def sign_out() -> Any:
    end_session()
    return redirect(url_for("staff.sign_in"))


@staff.get("/")
@staff_required()
def dashboard() -> Any:
    user = staff_user()
    count = db.session.scalar(select(func.count()).select_from(visible_accounts(user).subquery()))
    return render_template("staff/dashboard.html", user=user, account_count=count)


@staff.get("/accounts")
@staff_required()
def accounts() -> Any:
    q = request.args.get("q", "").strip()
    return render_template("staff/accounts.html", accounts=find_accounts(db.session, staff_user(), q), q=q)


@staff.get("/accounts.csv")
@staff_required()
def accounts_csv() -> Any:
    q = request.args.get("q", "").strip()
    rows = account_export_rows(db.session, staff_user(), q)
    return csv_response(ACCOUNT_EXPORT_COLUMNS, rows, "accounts.csv")


@staff.get("/accounts.xlsx")
@staff_required()
def accounts_xlsx() -> Any:
    q = request.args.get("q", "").strip()
    rows = account_export_rows(db.session, staff_user(), q)
    return xlsx_response(ACCOUNT_EXPORT_COLUMNS, rows, "accounts.xlsx", sheet="accounts")


@staff.get("/accounts/<account_no>")
@staff_required()
def account_detail(account_no: str) -> Any:
    account = get_visible_account(db.session, staff_user(), account_no)
    position = account_position(db.session, account, clock.today_local())
    return render_template("staff/account.html", account=account, position=position)


@staff.route("/units", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def units() -> Any:
    if request.method == "POST":
        try:
            parent = unit_in_scope(db.session, staff_user(), request.form.get("parent_code", ""), "parent_code")
            create_unit(
                db.session,
                request.form.get("code", ""),
                request.form.get("name", ""),
                parent.code if parent is not None else None,
            )
            db.session.commit()
            flash(_("Unit created."), "ok")
            return redirect(url_for("staff.units"))
        except DomainError as exc:
            db.session.rollback()
            flash(" ".join(form_errors(exc, _unit_labels()).summary), "error")
    rows = db.session.scalars(visible_units(staff_user())).all()
    return render_template("staff/units.html", units=rows)


@staff.route("/users", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def users() -> Any:
    if request.method == "POST":
        role = request.form.get("role", "")
        try:
            unit_code = request.form.get("unit_code", "") if role != Role.CUSTOMER else None
            unit = unit_in_scope(db.session, staff_user(), unit_code, "unit_code")
            create_user(
                db.session,
                request.form.get("username", ""),
                request.form.get("password", ""),
                role,
                unit,
                name=request.form.get("name", ""),
            )
            db.session.commit()
            flash(_("User created."), "ok")
            return redirect(url_for("staff.users"))
        except DomainError as exc:
            db.session.rollback()
            flash(" ".join(form_errors(exc, _user_labels()).summary), "error")
    rows = db.session.scalars(visible_users(staff_user())).all()
    unit_rows = db.session.scalars(visible_units(staff_user())).all()
    return render_template("staff/users.html", users=rows, units=unit_rows, roles=sorted(ALL_ROLES))


def _unit_labels() -> dict[str, str]:
    return {"code": _("Code"), "name": _("Name"), "parent_code": _("Parent unit")}


def _user_labels() -> dict[str, str]:
    return {
        "username": _("Username"),
        "name": _("Full name"),
        "password": _("Password"),
        "role": _("Role"),
        "unit_code": _("Unit"),
    }
