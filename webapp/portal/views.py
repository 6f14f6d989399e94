from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from billing.accounts import bind_account, unbind_account
from billing.commands import BindAccount
from billing.ledger import account_position
from core import clock
from core.db import db
from core.errors import DomainError
from core.identity import CustomerSignUp, PhoneOnly, Role, change_password

from .. import signup
from ..auth import authenticate, end_session, sign_in_attempt, start_session
from ..config_access import id_hash_key
from ..errors import error_message, form_errors
from ..throttle import binding_keys, guard
from . import portal
from ._billing import latest_bill
from ._customer import bound_accounts, customer_required, selected_account


def _safe_next(target: str | None, default: str) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/"):
        return target
    return default


@portal.get("/")
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("portal.home") if current_user.role == Role.CUSTOMER else url_for("staff.dashboard"))
    return render_template("portal/welcome.html")


@portal.route("/login", methods=["GET", "POST"])
def sign_in() -> Any:
    error = None
    if request.method == "POST":
        try:
            user = sign_in_attempt(request.form.get("phone", ""), request.form.get("password", ""))
            if user is None:
                error = _("Wrong phone number or password.")
            else:
                start_session(user, remember=bool(request.form.get("remember")))
                default = url_for("portal.home") if user.role == Role.CUSTOMER else url_for("staff.dashboard")
                return redirect(_safe_next(request.args.get("next"), default))
        except DomainError as exc:
            error = error_message(exc)
    # a wrong password keeps the number typed (the password field is empty again)
    phone = request.form.get("phone", "") if request.method == "POST" else ""
    return render_template("portal/login.html", error=error, phone=phone), 401 if error else 200


@portal.route("/signup", methods=["GET", "POST"])
def sign_up() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        fields = {k: request.form.get(k, "") for k in ("phone", "name", "password", "code")}
        try:
            command = CustomerSignUp.parse(fields)
        except DomainError as exc:
            errors.update(form_errors(exc, {}).fields)
            command = None
        if fields["password"] != request.form.get("password2", ""):  # the form's own check: typed twice alike
            errors["password2"] = _("The passwords do not match.")
        if command is not None and not errors:
            try:
                start_session(signup.sign_up(command))
                return redirect(url_for("portal.home"))
            except DomainError as exc:
                db.session.rollback()
                found = form_errors(exc, {})
                errors.update(found.fields or {"phone": found.summary[0]})
    page = render_template("portal/signup.html", errors=errors, form=request.form, full_form=request.method == "POST")
    return page, 422 if errors else 200


@portal.post("/signup/code")
def send_sign_up_code() -> Any:
    """Step one of signing up (and "send it again"): the code goes to the number, then the whole form shows."""
    errors: dict[str, str] = {}
    sent = False
    try:
        signup.send_code(PhoneOnly.parse({"phone": request.form.get("phone", "")}).phone)
        sent = True
    except DomainError as exc:
        db.session.rollback()
        found = form_errors(exc, {})
        errors["phone"] = found.fields.get("phone") or found.summary[0]
    page = render_template("portal/signup.html", errors=errors, form=request.form, code_sent=sent, full_form=sent)
    return page, 422 if errors else 200


@portal.post("/logout")
def sign_out() -> Any:
    end_session()
    return redirect(url_for("portal.index"))


@portal.get("/home")
@customer_required
def home() -> Any:
    accounts = bound_accounts()
    account = selected_account(accounts)
    position = account_position(db.session, account, clock.today_local()) if account else None
    last_bill = latest_bill(account) if account else None
    return render_template(
        "portal/home.html", accounts=accounts, account=account, position=position, last_bill=last_bill
    )


@portal.get("/me")
@customer_required
def me() -> Any:
    return render_template("portal/me.html", accounts=bound_accounts())


@portal.route("/bind", methods=["GET", "POST"])
@customer_required
def bind() -> Any:
    error = None
    if request.method == "POST":
        user = current_user.user
        try:
            for key in binding_keys(user.id):
                guard().check("RATELIMIT_BINDING", *key)
            command = BindAccount.parse({k: request.form.get(k, "") for k in ("account_no", "holder_name", "id_last4")})
            account = bind_account(
                db.session, user, command.account_no, command.holder_name, command.id_last4, id_hash_key=id_hash_key()
            )
            db.session.commit()
            session["portal_account"] = account.account_no
            flash(_("Account %(no)s is now bound.", no=account.account_no), "ok")
            return redirect(url_for("portal.home", account=account.account_no))
        except DomainError as exc:
            db.session.rollback()
            if exc.status != 429:
                for key in binding_keys(user.id):
                    guard().failed("RATELIMIT_BINDING", *key)
            labels = {
                "account_no": _("Account number"),
                "holder_name": _("Holder name"),
                "id_last4": _("Last 4 characters of the ID number"),
            }
            error = " ".join(form_errors(exc, labels).summary)
    return render_template("portal/bind.html", error=error, form=request.form), 422 if error else 200


@portal.get("/accounts/<account_no>/unbind")
@customer_required
def confirm_unbind(account_no: str) -> Any:
    """Unbinding asks first: the account, its holder and what unbinding means, with a button that does it."""
    account = next((a for a in bound_accounts() if a.account_no == account_no), None)
    if account is None:
        abort(404)
    return render_template("portal/unbind.html", account=account)


@portal.post("/accounts/<account_no>/unbind")
@customer_required
def unbind(account_no: str) -> Any:
    unbind_account(db.session, current_user.user, account_no)
    db.session.commit()
    if session.get("portal_account") == account_no:
        session.pop("portal_account")
    flash(_("Account %(no)s is no longer bound.", no=account_no), "ok")
    return redirect(url_for("portal.me"))


@portal.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    error = None
    if request.method == "POST":
        user = current_user.user
        if authenticate(user.username, request.form.get("current", "")) is None:
            error = _("The current password is wrong.")
        elif request.form.get("new", "") != request.form.get("new2", ""):
            error = _("The passwords do not match.")
        else:
            try:
                change_password(db.session, user, request.form.get("new", ""))
                db.session.commit()
                start_session(user)
                flash(_("Password changed. Other devices have been signed out."), "ok")
                return redirect(url_for("portal.index"))
            except DomainError as exc:
                db.session.rollback()
                error = "; ".join(form_errors(exc, {"password": _("New password")}).summary)
    return render_template("portal/password.html", error=error), 422 if error else 200
