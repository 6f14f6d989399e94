"""Customer pages of the 95598 service desk: report a fault (signed in or not), complain or ask, follow a ticket,
rate it when closed and reopen it within the window."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.db import db
from core.errors import DomainError, InvalidInput, Problem
from core.identity import Role, User
from mapping.geo import gcj02_to_wgs84
from servicedesk import services
from servicedesk.commands import AnonymousReport, OpenTicket, RateTicket, ReopenTicket
from servicedesk.photos import checked_image
from servicedesk.queries import photo_ids, ticket_list, timeline, urgency, visible_ticket
from servicedesk.settings import get as setting

from ..api.servicedesk import photo_response
from ..errors import FormErrors, form_errors
from ..throttle import guard
from ..ticket_text import ACTION_LABELS, KIND_LABELS, STATUS_LABELS, URGENCY_LABELS
from . import portal
from ._customer import bound_accounts, customer, customer_required
from .map import build_map, default_centre, tile_source

ASK_KINDS = ("complaint", "enquiry", "meter_check", "report", "opinion", "suggestion", "praise")
FAULT_FIELDS = ("account_no", "description", "lat", "lon", "contact_phone", "contact_email", "coords")
ASK_FIELDS = ("kind", "account_no", "description", "contact_phone")


def _labels() -> dict[str, str]:
    return {
        "kind": _("What is it about"),
        "account_no": _("Account number"),
        "description": _("What happened"),
        "lat": _("Place of the fault"),
        "lon": _("Place of the fault"),
        "contact_phone": _("Phone number to call you back"),
        "contact_email": _("E-mail for progress messages"),
        "photo": _("Photos"),
    }


def _signed_in_customer() -> User | None:
    if current_user.is_authenticated and current_user.role == Role.CUSTOMER:
        return customer()
    return None


def _place(form: dict[str, str]) -> dict[str, Any]:
    """The pin as WGS-84: a pin set on a GCJ-02 tile map is shifted back."""
    lat, lon = form.get("lat", ""), form.get("lon", "")
    if form.get("coords") == "gcj02" and lat and lon:
        try:
            shifted = gcj02_to_wgs84(float(lat), float(lon))
        except ValueError:
            return {"lat": lat, "lon": lon}
        return {"lat": round(shifted[0], 6), "lon": round(shifted[1], 6)}
    return {"lat": lat, "lon": lon}


def _photos() -> list[tuple[bytes, str]]:
    """The uploaded photos, each checked to be an image; nothing is kept when one is not."""
    files = [f for f in request.files.getlist("photo") if f and f.filename]
    limit = int(setting("SERVICEDESK_PHOTOS_MAX"))
    if len(files) > limit:
        raise InvalidInput.fields({"photo": Problem("too_many", max=limit)})
    checked = []
    for upload in files:
        data = upload.read(int(setting("SERVICEDESK_PHOTO_MAX_BYTES")) + 1)
        checked.append((data, checked_image(data)))
    return checked


def _parsed(command: type[OpenTicket], data: dict[str, Any]) -> tuple[OpenTicket, list[tuple[bytes, str]]]:
    """The command and the photos, or one InvalidInput with the problems of both."""
    problems: dict[str, Problem] = {}
    parsed: OpenTicket | None = None
    photos: list[tuple[bytes, str]] = []
    try:
        parsed = command.parse(data)
    except InvalidInput as exc:
        problems.update(exc.problems)
    try:
        photos = _photos()
    except InvalidInput as exc:
        problems.update(exc.problems)
    if problems or parsed is None:
        raise InvalidInput.fields(problems)
    return parsed, photos


def _pin_map(lat: float | None, lon: float | None, accounts: list[Any]) -> Any:
    centre = default_centre()
    if lat is not None and lon is not None:
        centre = (lat, lon)
    elif accounts and accounts[0].lat is not None and accounts[0].lon is not None:
        centre = (accounts[0].lat, accounts[0].lon)
    you = (lat, lon) if lat is not None and lon is not None else None
    return build_map([], centre=centre, you=you, zoom=16 if you else 14)


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


@portal.route("/repair", methods=["GET", "POST"])
def report_fault() -> Any:
    """A fault report (故障报修): signed in with an account or a pin, or as a passer-by with a pin and a phone."""
    user = _signed_in_customer()
    if current_user.is_authenticated and user is None:
        return redirect(url_for("staff.service_queue"))
    accounts = bound_accounts() if user else []
    form: dict[str, str] = {"account_no": accounts[0].account_no if len(accounts) == 1 else ""}
    errors = FormErrors()
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in FAULT_FIELDS}
        data: dict[str, Any] = {"kind": "fault_repair", **{k: form[k] for k in ("description", "contact_phone")}}
        data.update(_place(form))
        if user is not None:
            data["account_no"] = form["account_no"]
        elif form["contact_email"].strip():
            data["contact_email"] = form["contact_email"].strip()
        try:
            if user is None:
                key = request.remote_addr or "-"
                guard().check("SERVICEDESK_ANONYMOUS_LIMIT", key)
                guard().failed("SERVICEDESK_ANONYMOUS_LIMIT", key)
            command, photos = _parsed(AnonymousReport if user is None else OpenTicket, data)
            ticket = services.open_ticket(db.session, user, command, photos=photos)
            summary = {"ticket_no": ticket.ticket_no, "due_at": ticket.due_at}
            if user is None:  # the follow-up link, shown this once (only its hash is kept)
                summary["follow_url"] = url_for("portal.follow_ticket", token=ticket.follow_token, _external=True)  # type: ignore[attr-defined]
                summary["contact_email"] = ticket.contact_email
            db.session.commit()
            if user is not None:
                return redirect(url_for("portal.ticket", ticket_no=summary["ticket_no"]))
            return render_template("servicedesk/portal_received.html", ticket=summary), 201
        except DomainError as exc:
            db.session.rollback()
            errors = form_errors(exc, _labels())
    rendered = _pin_map(_float(form.get("lat", "")), _float(form.get("lon", "")), accounts)
    return render_template(
        "servicedesk/portal_repair.html",
        form=form,
        errors=errors,
        accounts=accounts,
        anonymous=user is None,
        rendered=rendered,
        coords=tile_source().coord_system,
    ), 422 if errors else 200


@portal.route("/service/new", methods=["GET", "POST"])
@customer_required
def ask() -> Any:
    """A complaint, report, opinion, suggestion, praise, enquiry or meter check request."""
    accounts = bound_accounts()
    form: dict[str, str] = {"kind": request.args.get("kind", "complaint")}
    errors = FormErrors()
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ASK_FIELDS}
        try:
            command = OpenTicket.parse(form)
            if command.kind == "fault_repair":
                return redirect(url_for("portal.report_fault"))
            ticket = services.open_ticket(db.session, customer(), command)
            ticket_no = ticket.ticket_no
            db.session.commit()
            return redirect(url_for("portal.ticket", ticket_no=ticket_no))
        except DomainError as exc:
            db.session.rollback()
            errors = form_errors(exc, _labels())
    return render_template(
        "servicedesk/portal_ask.html",
        form=form,
        errors=errors,
        accounts=accounts,
        kinds=[(k, KIND_LABELS[k]) for k in ASK_KINDS],
    ), 422 if errors else 200


@portal.get("/service")
@customer_required
def tickets() -> Any:
    rows = db.session.scalars(ticket_list(customer()).limit(100)).all()
    return render_template(
        "servicedesk/portal_tickets.html",
        tickets=rows,
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
    )


def _ticket_page(ticket_no: str, errors: FormErrors | None = None, status: int = 200) -> Any:
    user = customer()
    ticket = visible_ticket(db.session, user, ticket_no)
    return render_template(
        "servicedesk/portal_ticket.html",
        ticket=ticket,
        events=timeline(db.session, ticket),
        photos=photo_ids(db.session, ticket),
        urgency=urgency(ticket),
        may_rate=ticket.reporter_id == user.id and ticket.status == "closed" and ticket.rated_at is None,
        may_reopen=ticket.reporter_id == user.id and services.reopen_window_open(ticket),
        reopen_days=int(setting("SERVICEDESK_REOPEN_DAYS")),
        errors=errors or FormErrors(),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        action_labels=ACTION_LABELS,
        urgency_labels=URGENCY_LABELS,
    ), status


@portal.get("/service/<ticket_no>")
@customer_required
def ticket(ticket_no: str) -> Any:
    return _ticket_page(ticket_no)


@portal.get("/service/follow/<token>")
def follow_ticket(token: str) -> Any:
    """A passer-by's follow-up page: the ticket's progress and timeline, by the link given when it was received.
    Unknown links count against the address (``SERVICEDESK_FOLLOW_LIMIT``): tokens cannot be guessed by trying."""
    key = request.remote_addr or "-"
    guard().check("SERVICEDESK_FOLLOW_LIMIT", key)
    ticket = services.followed_ticket(db.session, token[:64])
    if ticket is None:
        guard().failed("SERVICEDESK_FOLLOW_LIMIT", key)
        abort(404)
    return render_template(
        "servicedesk/portal_follow.html",
        ticket=ticket,
        events=timeline(db.session, ticket),
        urgency=urgency(ticket),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        action_labels=ACTION_LABELS,
        urgency_labels=URGENCY_LABELS,
    )


@portal.post("/service/<ticket_no>/rating")
@customer_required
def rate(ticket_no: str) -> Any:
    ticket = visible_ticket(db.session, customer(), ticket_no)
    try:
        form = {k: request.form.get(k, "") for k in ("score", "comment")}
        services.rate_ticket(db.session, customer(), ticket, RateTicket.parse(form))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        labels = {"score": _("Satisfaction"), "comment": _("Comment")}
        return _ticket_page(ticket_no, form_errors(exc, labels), 422)
    return redirect(url_for("portal.ticket", ticket_no=ticket_no))


@portal.post("/service/<ticket_no>/reopen")
@customer_required
def reopen(ticket_no: str) -> Any:
    ticket = visible_ticket(db.session, customer(), ticket_no)
    try:
        command = ReopenTicket.parse({"reason": request.form.get("reason", "")})
        services.reopen_ticket(db.session, customer(), ticket, command)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _ticket_page(ticket_no, form_errors(exc, {"reason": _("Why are you not satisfied")}), 422)
    return redirect(url_for("portal.ticket", ticket_no=ticket_no))


@portal.get("/service/<ticket_no>/photos/<int:photo_id>")
@customer_required
def ticket_photo(ticket_no: str, photo_id: int) -> Any:
    ticket = visible_ticket(db.session, customer(), ticket_no)
    return photo_response(services.ticket_photo(db.session, ticket, photo_id))
