"""Messages: the customer's notification inbox with unread counts; opening a message marks it read."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.db import db
from notifications.models import Message
from notifications.services import inbox as inbox_items
from notifications.services import inbox_item, inbox_query, mark_all_read, mark_read

from ..inputs import page_arg
from . import portal
from ._customer import customer, customer_required, unread_messages
from .notice_text import KIND_LABELS, for_reader

PAGE = 20


@portal.get("/inbox")
@customer_required
def inbox() -> Any:
    page = page_arg()
    unread_only = request.args.get("show") == "unread"
    items = inbox_items(db.session, customer(), limit=PAGE + 1, offset=(page - 1) * PAGE, unread_only=unread_only)
    return render_template(
        "portal/inbox.html",
        items=[for_reader(item) for item in items[:PAGE]],
        page=page,
        more=len(items) > PAGE,
        unread_only=unread_only,
        unread=unread_messages(),
        kind_labels=KIND_LABELS,
    )


@portal.get("/inbox/<int:message_id>")
@customer_required
def message(message_id: int) -> Any:
    row = db.session.execute(inbox_query(customer()).where(Message.id == message_id)).first()
    if row is None:
        abort(404)
    mark_read(db.session, customer(), message_id)
    db.session.commit()
    return render_template("portal/message.html", item=for_reader(inbox_item(row)), kind_labels=KIND_LABELS)


@portal.post("/inbox/read-all")
@customer_required
def read_all() -> Any:
    count = mark_all_read(db.session, customer())
    db.session.commit()
    flash(_("%(n)s messages marked as read.", n=count), "ok")
    return redirect(url_for("portal.inbox"))
