"""A finding's evidence as the reader's words: each kept value under its label, document types by name, times in
the display zone, and links to the very record (the document, the payment, the ticket, the dossier)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from core import clock
from core.db import db
from core.identity import User

LABELS = {
    "amount": _l("Amount (yuan)"),
    "actor_id": _l("Who tried"),
    "attempt_id": _l("Attempt no."),
    "attempted_at": _l("Attempted at"),
    "bill_id": _l("Bill no."),
    "builder": _l("Dossier built by"),
    "capacity_kva": _l("Contracted capacity (kVA)"),
    "channel": _l("Channel"),
    "checker_name": _l("Checker"),
    "closed_at": _l("Closed at"),
    "connected_on": _l("Connected on"),
    "days_since_connection": _l("Days since connection"),
    "days_to_file": _l("Days taken to file"),
    "deadline_days": _l("Filing deadline (days)"),
    "decided_by": _l("Decided by"),
    "doc_type": _l("Document type"),
    "document_id": _l("Document"),
    "document_no": _l("Document no."),
    "documents_after": _l("Documents after it"),
    "done_on": _l("Work done on"),
    "expected_builder": _l("Builder its capacity tier names"),
    "filed_at": _l("Filed at"),
    "filer_name": _l("Filer"),
    "filing_unit": _l("Filing unit"),
    "first_payment_id": _l("First payment"),
    "formed_after_it": _l("Formed after it"),
    "formed_on": _l("Formation date"),
    "has_dossier": _l("Has a dossier"),
    "kind": _l("Kind"),
    "missing": _l("Missing documents"),
    "opened_at": _l("Dossier opened at"),
    "pages": _l("Pages"),
    "paid_at": _l("Paid at"),
    "paper_size": _l("Paper size"),
    "payment_id": _l("Payment"),
    "problem": _l("Problem"),
    "record_id": _l("Record no."),
    "reference": _l("Reference"),
    "requested_by": _l("Requested by"),
    "responsible_unit": _l("Responsible party"),
    "source": _l("Source"),
    "ticket_no": _l("Ticket"),
    "tier": _l("Capacity tier"),
    "withdrawn_at": _l("Withdrawn at"),
    "writing_material": _l("Writing material"),
}
CODES = {"doc_type", "writing_material", "paper_size", "kind", "channel", "source", "problem"}
CODES |= {"builder", "expected_builder", "tier"}  # the dossier's builder and capacity tier (archive.checklists)
PEOPLE = {"actor_id", "requested_by", "decided_by"}


def _time(value: Any) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{clock.local(moment):%Y-%m-%d %H:%M}"


def _link(endpoint: str, text: str, **values: Any) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **values), text)


def _person(value: Any) -> str:
    user = db.session.get(User, value) if isinstance(value, int) else None
    return (user.name or user.username) if user is not None else str(value)


def shown(name: str, value: Any, *, archive: bool = True) -> Markup:
    """One kept value as the page shows it (escaped; links and names where the value is a record or a code;
    ``archive``: the reader may open archive documents)."""
    if value is None or value == "":
        return Markup("—")
    if isinstance(value, bool):
        return escape(_("yes") if value else _("no"))
    if name == "missing":
        return escape("、".join(_(code.strip()) for code in str(value).split(",") if code.strip()))
    if name in CODES:
        return escape(_(str(value)))
    if name.endswith("_at"):
        return escape(_time(value))
    if name in PEOPLE:
        return escape(_person(value))
    if name == "document_id" and isinstance(value, int):
        if not archive:
            return escape(_("document no. %(id)s", id=value))
        return _link("staff.archive_document", _("document no. %(id)s", id=value), document_id=value)
    if name in ("payment_id", "first_payment_id") and isinstance(value, int):
        return _link("staff.billing_receipt", _("payment no. %(id)s", id=value), payment_id=value)
    if name == "ticket_no":
        return _link("staff.service_ticket", str(value), ticket_no=str(value))
    return escape(str(value))


def evidence_rows(
    evidence: dict[str, Any], order: tuple[str, ...] = (), *, archive: bool = True
) -> list[tuple[str, Markup]]:
    """(label, value) of every kept value: the rule's own order first, then any other key."""
    names = [n for n in order if n in evidence] + sorted(n for n in evidence if n not in order)
    return [(str(LABELS.get(n, n)), shown(n, evidence[n], archive=archive)) for n in names]
