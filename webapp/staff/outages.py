"""Staff pages for notices: announce a planned outage (area or account list) and follow its delivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core import clock
from core.db import db
from core.errors import DomainError
from core.identity import STAFF_ROLES, Role
from notifications.commands import AnnounceOutage
from notifications.queries import dead_letters, notice_progress, visible_notice, visible_notices
from notifications.services import create_outage_notice, preview_outage

from ..errors import FormErrors, form_errors
from ..portal.map import build_map, default_centre, outage_area
from ..templating import STAFF_NAV
from . import staff
from .access import staff_required, staff_user

SENDERS = (Role.ARCHIVIST, Role.CLERK, Role.ADMIN)
# codes shown with _(code) in the templates; listed so that the extractor finds them
LABELS = [
    _l("outage"),
    _l("bill_issued"),
    _l("due_reminder"),
    _l("arrears_reminder"),
    _l("payment_received"),
    _l("finding_assigned"),
    _l("ticket_update"),
    _l("application_update"),
    _l("document"),
    _l("push"),
    _l("email"),
    _l("sms"),
    _l("pending"),
    _l("deferred"),
    _l("sent"),
    _l("failed"),
    _l("dropped"),
    _l("Notices"),
]
STAFF_NAV.append(("staff.notices", "Notices", frozenset(STAFF_ROLES)))


def _labels() -> dict[str, str]:
    return {
        "title": _("Notice title"),
        "body": _("Message"),
        "starts_at": _("Starts (Beijing time)"),
        "ends_at": _("Ends (Beijing time)"),
        "area": _("Area: GeoJSON Polygon, [longitude, latitude] in WGS-84"),
        "account_nos": _("Account numbers, separated by spaces, commas or lines"),
    }


def local_input(value: str) -> str | None:
    """A ``datetime-local`` field (display time zone) as ISO 8601 with offset."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=clock.zone()).isoformat()
    except ValueError:
        return value


@staff.get("/notices")
@staff_required()
def notices() -> Any:
    rows = db.session.scalars(visible_notices(staff_user()).limit(100)).all()
    progress = {n.id: notice_progress(db.session, n) for n in rows}
    return render_template(
        "notifications/staff_notices.html",
        notices=rows,
        progress=progress,
        can_send=staff_user().role in SENDERS,
    )


@staff.route("/notices/outage", methods=["GET", "POST"])
@staff_required(*SENDERS)
def new_outage() -> Any:
    form: dict[str, str] = {"mode": "area"}
    errors = FormErrors()
    preview: dict[str, int] | None = None
    rendered = None
    if request.method == "POST":
        form = {
            k: request.form.get(k, "") for k in ("title", "body", "starts_at", "ends_at", "mode", "area", "account_nos")
        }
        data: dict[str, Any] = {
            "title": form["title"],
            "body": form["body"],
            "starts_at": local_input(form["starts_at"]),
            "ends_at": local_input(form["ends_at"]),
        }
        if form["mode"] == "accounts":
            data["account_nos"] = [n for n in form["account_nos"].replace(",", " ").split() if n]
        else:
            data["area"] = form["area"]  # GeoJSON text as pasted (a Feature or a FeatureCollection will do)
        if request.form.get("action") == "preview":
            try:
                command = AnnounceOutage.parse(data)
                found = preview_outage(db.session, staff_user(), command)
                preview = {"accounts": len(found.account_ids), "recipients": len(found.user_ids)}
                if command.area is not None:
                    outer = command.area["coordinates"][0]
                    centre = (sum(p[1] for p in outer) / len(outer), sum(p[0] for p in outer) / len(outer))
                    rendered = build_map([], centre=centre, you=None, areas=[outage_area(command.area, form["title"])])
            except DomainError as exc:
                errors = form_errors(exc, _labels())
            db.session.rollback()
        else:
            try:
                notice, recipients = create_outage_notice(db.session, staff_user(), AnnounceOutage.parse(data))
                notice_id = notice.id
                db.session.commit()
                flash(_("The notice is on its way to %(count)d customers.", count=len(recipients.user_ids)), "ok")
                return redirect(url_for("staff.notice_detail", notice_id=notice_id))
            except DomainError as exc:
                db.session.rollback()
                errors = form_errors(exc, _labels())
    return render_template(
        "notifications/staff_outage_form.html", form=form, errors=errors, preview=preview, rendered=rendered
    ), 422 if errors else 200


@staff.get("/notices/<int:notice_id>")
@staff_required()
def notice_detail(notice_id: int) -> Any:
    notice = visible_notice(db.session, staff_user(), notice_id)
    progress = notice_progress(db.session, notice)
    rendered = None
    if notice.area:
        outer = notice.area["coordinates"][0]
        centre = (sum(p[1] for p in outer) / len(outer), sum(p[0] for p in outer) / len(outer))
        rendered = build_map(
            [],
            centre=centre or default_centre(),
            you=None,
            areas=[outage_area(notice.area, notice.title)],
            zoom=13,
        )
    letters = dead_letters(db.session, notice, 50)
    return render_template(
        "notifications/staff_notice.html", notice=notice, progress=progress, rendered=rendered, letters=letters
    )
