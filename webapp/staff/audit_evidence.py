"""A finding's evidence as the reader's words: each kept value under its label, document types by name, times in
the display zone, and links to the very record (the document, the payment, the ticket, the dossier)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from audit.rules import all_rules
from billing.models import Bill
from core import clock
from core.db import db
from core.identity import User
from webapp.connection_labels import STEP_LABELS, TYPE_LABELS, label
from webapp.extensions import current_language
from webapp.templating import money
from webapp.ticket_text import KIND_LABELS

from .archive import READERS as ARCHIVE_READERS
from .billing import READERS as BILLING_READERS

LABELS = {
    "account_no": _l("Account no."),
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
    "allowed_days": _l("Allowed working days"),
    "application_no": _l("Application no."),
    "changed": _l("What changed"),
    "day": _l("Statement day"),
    "days_to_handover": _l("Days to hand-over"),
    "done_on": _l("Done on"),
    "end_on": _l("Judged up to"),
    "first_on": _l("First on"),
    "first_reading_on": _l("First reading on"),
    "handed_over_on": _l("Handed over on"),
    "largest_kva": _l("Largest (kVA)"),
    "last_on": _l("Last on"),
    "member_count": _l("Connections"),
    "members": _l("Applications and accounts"),
    "open": _l("Still open"),
    "order_no": _l("Order no."),
    "ours": _l("Our amount"),
    "predecessor_done_on": _l("Previous step done on"),
    "provider": _l("Payment provider"),
    "received_on": _l("Received on"),
    "recorded": _l("Recorded from the statement"),
    "start_on": _l("Started on"),
    "step": _l("Step"),
    "theirs": _l("Their amount"),
    "threshold_kva": _l("Threshold (kVA)"),
    "total_kva": _l("Together (kVA)"),
    "trade_no": _l("Trade no."),
    "type": _l("Application type"),
    "working_days": _l("Working days taken"),
}
CODES = {"doc_type", "writing_material", "paper_size", "kind", "channel", "source", "problem", "provider", "changed"}
CODES |= {"builder", "expected_builder", "tier"}  # the dossier's builder and capacity tier (archive.checklists)
AMOUNTS = {"amount", "ours", "theirs"}
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
        return escape(_separator().join(_code(code.strip()) for code in str(value).split(",") if code.strip()))
    if name == "type":
        return escape(label(TYPE_LABELS, str(value)))
    if name == "step":
        return escape(label(STEP_LABELS, str(value)) if str(value) in STEP_LABELS else _code(str(value)))
    if name in CODES:
        return escape(_code(str(value)))
    if name in AMOUNTS:
        try:
            return escape(money(Decimal(str(value))))
        except (InvalidOperation, ValueError):
            return escape(str(value))
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


# --- each rule's evidence as whole sentences -----------------------------------------------------------------------
#
# One entry per rule in ``SENTENCES`` (``@sentence("RULE-CODE")``): a function of the finding's ``Evidence`` that
# returns the sentence(s) saying what was found, with the names of document types, local times, amounts and links
# to the very record. tests/audit/test_demo.py renders every rule's demo finding through it and
# tests/webapp/test_audit_evidence.py fails for a rule of the registry without an entry.

Sentence = Callable[["Evidence"], Markup]
SENTENCES: dict[str, Sentence] = {}


def sentence(code: str) -> Callable[[Sentence], Sentence]:
    def register(fn: Sentence) -> Sentence:
        SENTENCES[code] = fn
        return fn

    return register


def say(message: str, **params: Any) -> Markup:
    """A translated sentence (``message`` already through gettext) with its parameters escaped unless Markup."""
    # the message is the catalogue's (trusted) and every parameter is escaped unless it is already Markup
    return Markup(message) % {name: escape(value) for name, value in params.items()}  # noqa: S704


class Evidence:
    """One finding's kept values, formatted for the reader: each accessor returns escaped text or a link."""

    def __init__(self, evidence: dict[str, Any], account_no: str | None, role: str) -> None:
        self.values = evidence
        # "" for a finding without an account (an application that has none yet): its sentence names the application
        self.account_no = account_no or ""
        self.role = role

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str) -> Markup:
        value = self.values.get(name)
        return escape("—" if value in (None, "") else str(value))

    def code(self, name: str) -> Markup:
        value = self.values.get(name)
        return escape("—" if value in (None, "") else _code(str(value)))

    def doc_type(self, name: str = "doc_type") -> Markup:
        return self.code(name)

    def doc_types(self, name: str = "missing") -> Markup:
        names = [_code(c.strip()) for c in str(self.values.get(name) or "").split(",") if c.strip()]
        return escape(_separator().join(names))

    def time(self, name: str) -> Markup:
        value = self.values.get(name)
        return escape("—" if value in (None, "") else _time(value))

    def day(self, name: str) -> Markup:
        value = self.values.get(name)
        return escape("—" if value in (None, "") else str(value)[:10])

    def money(self, name: str) -> Markup:
        try:
            return escape(money(Decimal(str(self.values.get(name)))))
        except (InvalidOperation, ValueError):
            return self.text(name)

    def kva(self, name: str) -> Markup:
        try:
            amount = Decimal(str(self.values.get(name)))
        except (InvalidOperation, ValueError):
            return self.text(name)
        shown = format(amount.normalize(), "f")
        return escape(_("%(kva)s kVA", kva=shown))

    def person(self, name: str) -> Markup:
        value = self.values.get(name)
        return escape(_("someone unknown") if value is None else _person(value))

    def step(self, name: str = "step") -> Markup:
        return escape(label(STEP_LABELS, self.values.get(name)))

    def app_type(self, name: str = "type") -> Markup:
        return escape(label(TYPE_LABELS, self.values.get(name)))

    # links to the very record, where the reader's role may open it

    def _may(self, roles: tuple[str, ...]) -> bool:
        return self.role in roles

    def document(self, name: str = "document_id", type_name: str = "doc_type") -> Markup:
        value = self.values.get(name)
        text = _("%(type)s (document no. %(id)s)", type=_code(str(self.values.get(type_name) or "")), id=value)
        if isinstance(value, int) and self._may(ARCHIVE_READERS):
            return _link("staff.archive_document", text, document_id=value)
        return escape(text)

    def dossier(self) -> Markup:
        text = _("the dossier of account %(no)s", no=self.account_no)
        if self._may(ARCHIVE_READERS):
            return _link("staff.archive_dossier", text, account_no=self.account_no)
        return escape(text)

    def payment(self, name: str = "payment_id") -> Markup:
        value = self.values.get(name)
        text = _("payment no. %(id)s", id=value)
        if isinstance(value, int) and self._may(BILLING_READERS):
            return _link("staff.billing_receipt", text, payment_id=value)
        return escape(text)

    def ledger_line(self, text: str, anchor: str) -> Markup:
        """The account's ledger page, anchored at the line (``bill-<period>``, ``adjustment-<id>``)."""
        if self._may(BILLING_READERS):
            return Markup('<a href="{}#{}">{}</a>').format(
                url_for("staff.billing_ledger", account_no=self.account_no), anchor, text
            )
        return escape(text)

    def bill_period(self, name: str = "bill_id") -> str:
        bill = db.session.get(Bill, self.values.get(name)) if isinstance(self.values.get(name), int) else None
        return bill.period if bill is not None else "—"

    def ticket(self, name: str = "ticket_no") -> Markup:
        return _link("staff.service_ticket", str(self.values.get(name)), ticket_no=str(self.values.get(name)))

    def application(self, name: str = "application_no") -> Markup:
        value = self.values.get(name)
        if value in (None, ""):
            return escape("—")
        return _link("staff.application_page", str(value), application_no=str(value))

    def reconciliation(self) -> Markup:
        text = _("%(provider)s statement of %(day)s", provider=_code(str(self.raw("provider"))), day=self.day("day"))
        if self._may(BILLING_READERS):
            return _link(
                "staff.billing_reconciliation", text, provider=str(self.raw("provider")), day=str(self.raw("day"))
            )
        return escape(text)

    def account(self) -> Markup:
        return _link("staff.account_detail", _("account %(no)s", no=self.account_no), account_no=self.account_no)

    def member(self, ref: str) -> Markup:
        """A member of a capacity split: an application (its number) or an account (its page)."""
        if ref.isdigit():
            return _link("staff.account_detail", ref, account_no=ref)
        return _link("staff.application_page", ref, application_no=ref)


def _separator() -> str:
    return "、" if current_language() == "zh_CN" else ", "


def _code(value: str) -> str:
    """A code of a controlled list by its name in the reader's language (English: the code's words)."""
    shown = _(value) if value else "—"
    return value.replace("_", " ") if shown == value else shown


def rule_name(code: str, titles: dict[str, str] | None = None) -> str:
    """A rule's name in the reader's language (its title translated; the code for a rule that is gone)."""
    if titles is None:
        titles = {r.code: r.title for r in all_rules()}
    return _(titles[code]) if code in titles else code


def plain_sentence(rule: str, evidence: dict[str, Any], account_no: str | None, role: str) -> str:
    """The rule's sentence as plain text (for CSV): the links' words without the links."""
    said = render_sentence(rule, evidence, account_no, role)
    return said.striptags() if said is not None else ""


def render_sentence(rule: str, evidence: dict[str, Any], account_no: str | None, role: str) -> Markup | None:
    """The finding's evidence as the rule's sentence in the reader's language, or None for a rule without one
    (a test fails for such a rule)."""
    fn = SENTENCES.get(rule)
    if fn is None:
        return None
    said = fn(Evidence(evidence, account_no, role))
    # an English sentence may start with a parameter ("payment no. 12 of ..."): its first letter is a capital
    return Markup(re.sub(r"^((?:<[^>]+>)*)([a-z])", lambda m: m.group(1) + m.group(2).upper(), str(said)))  # noqa: S704


# --- the counter and the ledger ---


@sentence("BZ-PAYMENT-DUPLICATE")
def _duplicate(e: Evidence) -> Markup:
    return say(
        _(
            "%(payment)s of %(amount)s (%(channel)s, reference %(reference)s, paid at %(paid_at)s) repeats "
            "%(first)s: the same account, channel, reference and amount were recorded twice."
        ),
        payment=e.payment(),
        amount=e.money("amount"),
        channel=e.code("channel"),
        reference=e.text("reference"),
        paid_at=e.time("paid_at"),
        first=e.payment("first_payment_id"),
    )


@sentence("BZ-PAYMENT-UNMATCHED")
def _unmatched(e: Evidence) -> Markup:
    params = {
        "payment": e.payment(),
        "amount": e.money("amount"),
        "channel": e.code("channel"),
        "paid_at": e.time("paid_at"),
    }
    if e.raw("problem") == "no_reference":
        return say(
            _(
                "%(payment)s of %(amount)s (%(channel)s, paid at %(paid_at)s) carries no receipt, bank or "
                "transaction number, so it cannot be reconciled."
            ),
            **params,
        )
    return say(
        _(
            "%(payment)s of %(amount)s (%(channel)s, paid at %(paid_at)s, reference %(reference)s) is for an "
            "account that has no bill, so it matches nothing."
        ),
        reference=e.text("reference"),
        **params,
    )


@sentence("BZ-STATEMENT-MISMATCH")
def _statement(e: Evidence) -> Markup:
    params = {
        "statement": e.reconciliation(),
        "order": e.text("order_no"),
        "ours": e.money("ours"),
        "theirs": e.money("theirs"),
    }
    kind = e.raw("kind")
    if kind == "amount_differs":
        return say(_("Order %(order)s: we recorded %(ours)s, %(statement)s says %(theirs)s."), **params)
    if kind == "missing_here":
        return say(
            _(
                "Order %(order)s of %(theirs)s is on %(statement)s but was not recorded when the "
                "provider reported it (it was recorded from the statement)."
            ),
            **params,
        )
    return say(_("Order %(order)s of %(ours)s, recorded by us, is missing from %(statement)s."), **params)


@sentence("BZ-UNAPPROVED")
def _unapproved(e: Evidence) -> Markup:
    period = e.bill_period()
    amount = e.money("amount")
    if e.raw("kind") == "credit":
        line = e.ledger_line(_("the bill of %(period)s", period=period), f"bill-{period}")
        return say(
            _(
                "%(amount)s was credited on %(line)s outside a payment, and no approved waiver or correction of "
                "that bill backs it."
            ),
            amount=amount,
            line=line,
        )
    line = e.ledger_line(
        _("%(kind)s no. %(id)s", kind=_(str(e.raw("kind"))), id=e.raw("record_id")), f"adjustment-{e.raw('record_id')}"
    )
    bill = _("the bill of %(period)s", period=period) if period != "—" else _("the account's balance")
    params = {"line": line, "amount": amount, "bill": bill, "requester": e.person("requested_by")}
    problem = e.raw("problem")
    if problem == "approved_without_decider":
        return say(
            _("%(line)s of %(amount)s on %(bill)s, asked for by %(requester)s, is approved with no "
              "one recorded as deciding it."),
            **params,
        )  # fmt: skip
    if problem == "approved_by_requester":
        return say(
            _("%(line)s of %(amount)s on %(bill)s was approved by %(requester)s, who asked for it: "
              "a second person must decide."),
            **params,
        )  # fmt: skip
    return say(
        _("%(line)s of %(amount)s on %(bill)s, asked for by %(requester)s, was approved by "
          "%(decider)s, who may not decide for this account's unit."),
        decider=e.person("decided_by"),
        **params,
    )  # fmt: skip


# --- the archive ---


@sentence("FL-COMPLAINT-UNFILED")
def _complaint(e: Evidence) -> Markup:
    text = say(
        _("%(kind)s ticket %(ticket)s, closed at %(closed_at)s, is not filed in the account's complaint file."),
        kind=escape(label(KIND_LABELS, e.raw("kind"))),
        ticket=e.ticket(),
        closed_at=e.time("closed_at"),
    )
    if e.raw("has_dossier") is False:
        text += say(_(" The account has no dossier yet."))
    return text


@sentence("FL-DATE-ORDER")
def _date_order(e: Evidence) -> Markup:
    return say(
        _(
            "%(document)s, formed on %(formed_on)s, was filed at %(filed_at)s after a document formed on "
            "%(later)s: it goes into the middle of the dossier and shifts the page numbers after it."
        ),
        document=e.document(),
        formed_on=e.day("formed_on"),
        filed_at=e.time("filed_at"),
        later=e.day("formed_after_it"),
    )


@sentence("FL-DOSSIER-UNCHECKED")
def _unchecked(e: Evidence) -> Markup:
    return say(
        _(
            "%(dossier)s, opened at %(opened_at)s and filed by %(filer)s, has never been checked: its reference "
            "sheet names no checker and no check date."
        ),
        dossier=e.dossier(),
        opened_at=e.time("opened_at"),
        filer=e.text("filer_name") if e.has("filer_name") else _("no one recorded"),
    )


@sentence("FL-LARGE-INCOMPLETE")
def _large(e: Evidence) -> Markup:
    params = {
        "capacity": e.kva("capacity_kva"),
        "connected_on": e.day("connected_on"),
        "days": e.text("days_since_connection"),
        "missing": e.doc_types(),
    }
    if e.raw("has_dossier") is False:
        return say(
            _(
                "The %(capacity)s %(account)s, connected on %(connected_on)s (%(days)s days ago), has no dossier: "
                "it lacks %(missing)s."
            ),
            account=e.account(),
            **params,
        )
    return say(
        _(
            "This %(capacity)s account was connected on %(connected_on)s (%(days)s days ago), and %(dossier)s "
            "still lacks %(missing)s."
        ),
        dossier=e.dossier(),
        **params,
    )


@sentence("FL-LATE-FILING")
def _late_filing(e: Evidence) -> Markup:
    return say(
        _(
            "%(document)s, formed on %(formed_on)s, was filed at %(filed_at)s, %(days)s days later: over the "
            "%(deadline)s-day filing deadline."
        ),
        document=e.document(),
        formed_on=e.day("formed_on"),
        filed_at=e.time("filed_at"),
        days=e.text("days_to_file"),
        deadline=e.text("deadline_days"),
    )


@sentence("FL-MATERIAL")
def _material(e: Evidence) -> Markup:
    return say(
        _(
            "%(document)s, formed on %(formed_on)s, is in %(material)s: documents kept long-term must be in "
            "carbon ink, blue-black ink or print."
        ),
        document=e.document(),
        formed_on=e.day("formed_on"),
        material=e.code("writing_material"),
    )


@sentence("FL-NO-HANDOVER")
def _no_handover(e: Evidence) -> Markup:
    return say(
        _(
            "%(document)s, formed on %(formed_on)s by %(responsible)s, was filed by %(filing)s without the "
            "hand-over record it should have arrived with."
        ),
        document=e.document(),
        formed_on=e.day("formed_on"),
        responsible=e.text("responsible_unit"),
        filing=e.text("filing_unit"),
    )


@sentence("FL-PAGE-GAP")
def _page_gap(e: Evidence) -> Markup:
    return say(
        _(
            "%(document)s (%(pages)s pages, formed on %(formed_on)s) was withdrawn at %(withdrawn_at)s from the "
            "middle of the dossier: the %(after)s documents after it leave a gap in the page numbers."
        ),
        document=e.document(),
        pages=e.text("pages"),
        formed_on=e.day("formed_on"),
        withdrawn_at=e.time("withdrawn_at"),
        after=e.text("documents_after"),
    )


@sentence("FL-PAPER-SIZE")
def _paper(e: Evidence) -> Markup:
    return say(
        _(
            "%(document)s, formed on %(formed_on)s, is on paper of size %(size)s: documents are on A4, and "
            "only drawings on A3."
        ),
        document=e.document(),
        formed_on=e.day("formed_on"),
        size=e.code("paper_size"),
    )


@sentence("FL-REQUIRED-DOC")
def _required(e: Evidence) -> Markup:
    params = {
        "doc_type": e.doc_type(),
        "capacity": e.kva("capacity_kva"),
        "connected_on": e.day("connected_on"),
    }
    if e.raw("has_dossier") is False:
        return say(
            _(
                "The %(capacity)s %(account)s, connected on %(connected_on)s, has no dossier, so its %(doc_type)s "
                "is missing."
            ),
            account=e.account(),
            **params,
        )
    return say(
        _("%(dossier)s lacks the %(doc_type)s a %(capacity)s account connected on %(connected_on)s requires."),
        dossier=e.dossier(),
        **params,
    )


@sentence("FL-SECOND-DOSSIER")
def _second(e: Evidence) -> Markup:
    return say(
        _(
            "At %(at)s %(actor)s tried to open a second dossier for this account (through %(source)s); it was "
            "refused, as the account already has %(dossier)s."
        ),
        at=e.time("attempted_at"),
        actor=e.person("actor_id"),
        source=escape(label(SOURCES, e.raw("source"))),
        dossier=e.dossier(),
    )


# --- business handling ---


@sentence("YK-APPLICATION-LATE")
def _application_late(e: Evidence) -> Markup:
    params = {
        "application": e.application(),
        "type": e.app_type(),
        "received_on": e.day("received_on"),
        "end_on": e.day("end_on"),
        "days": e.text("working_days"),
        "allowed": e.text("allowed_days"),
    }
    if e.raw("open"):
        return say(
            _(
                "Application %(application)s (%(type)s), received on %(received_on)s, is still open on "
                "%(end_on)s after %(days)s working days; its limit is %(allowed)s working days."
            ),
            **params,
        )
    return say(
        _(
            "Application %(application)s (%(type)s), received on %(received_on)s, took %(days)s working days "
            "to %(end_on)s; its limit is %(allowed)s working days."
        ),
        **params,
    )


@sentence("YK-HANDOVER-LATE")
def _handover_late(e: Evidence) -> Markup:
    params = {
        "capacity": e.kva("capacity_kva"),
        "connected_on": e.day("connected_on"),
        "handed": e.day("handed_over_on"),
        "days": e.text("days_to_handover"),
    }
    if not e.has("handed_over_on"):
        return say(
            _(
                "The dossier of this %(capacity)s account, connected on %(connected_on)s through application "
                "%(application)s, has still not been handed over, more than a month after the connection."
            ),
            application=e.application(),
            **params,
        )
    if e.raw("source") == "archiving_step":
        return say(
            _(
                "The dossier of this %(capacity)s account, connected on %(connected_on)s, was handed over on "
                "%(handed)s (archiving step of application %(application)s), %(days)s days later: over one month."
            ),
            application=e.application(),
            **params,
        )
    return say(
        _(
            "The dossier of this %(capacity)s account, connected on %(connected_on)s, was handed over on "
            "%(handed)s (hand-over record in %(dossier)s), %(days)s days later: over one month."
        ),
        dossier=e.dossier(),
        **params,
    )


SOURCES = {
    "api": _l("the API"),
    "staff": _l("the staff pages"),
    "import": _l("a batch import"),
    "servicedesk": _l("the service desk"),
    "demo": _l("the demo"),
}
CHANGED = {"capacity_kva": _l("contracted capacity"), "holder_name": _l("holder's name")}


@sentence("YK-OFF-SYSTEM")
def _off_system(e: Evidence) -> Markup:
    problem = e.raw("problem")
    changed = escape(str(CHANGED.get(str(e.raw("changed")), e.raw("changed") or "—")))
    if problem == "read_without_application":
        return say(
            _("The %(account)s has meter readings since %(first)s, but no new-connection application opened it."),
            account=e.account(),
            first=e.day("first_reading_on"),
        )
    if problem == "registered_after_work":
        return say(
            _(
                "New-connection application %(application)s was registered on %(received_on)s, after the "
                "%(account)s was connected on %(connected_on)s: the work was done before the application."
            ),
            application=e.application(),
            account=e.account(),
            received_on=e.day("received_on"),
            connected_on=e.day("connected_on"),
        )
    if problem == "changed_without_application":
        return say(
            _("The %(changed)s of the %(account)s was changed without naming an application of the account."),
            account=e.account(),
            changed=changed,
        )
    if problem == "changed_behind_the_trail":
        return say(
            _(
                "The %(changed)s of the %(account)s differs from what its last trail entry recorded: it was "
                "changed behind the system's back."
            ),
            account=e.account(),
            changed=changed,
        )
    return say(
        _("The %(account)s was connected on %(connected_on)s without the new-connection application that opens it."),
        account=e.account(),
        connected_on=e.day("connected_on"),
    )


@sentence("YK-PROCESS")
def _process(e: Evidence) -> Markup:
    params = {
        "application": e.application(),
        "type": e.app_type(),
        "step": e.step(),
        "done_on": e.day("done_on"),
        "received_on": e.day("received_on"),
    }
    problem = e.raw("problem")
    if problem == "skipped":
        return say(
            _("Application %(application)s (%(type)s): the step “%(step)s” was left out while a later step is done."),
            **params,
        )
    if problem == "done_before_receipt":
        return say(
            _(
                "Application %(application)s (%(type)s): the step “%(step)s” was done on %(done_on)s, before "
                "the application was received on %(received_on)s."
            ),
            **params,
        )
    if problem == "connected_without_passed_check":
        return say(
            _("Application %(application)s (%(type)s): the meter was connected without a passed completion check."),
            **params,
        )
    if problem == "document_before_receipt":
        return say(
            _(
                "Application %(application)s (%(type)s): its paper, a %(paper)s, is dated %(done_on)s, before "
                "the application was received on %(received_on)s."
            ),
            paper=e.doc_type("step"),
            **params,
        )
    return say(
        _(
            "Application %(application)s (%(type)s): the step “%(step)s” was done on %(done_on)s, before the "
            "step before it (done on %(previous)s)."
        ),
        previous=e.day("predecessor_done_on"),
        **params,
    )


@sentence("YK-SPLIT")
def _split(e: Evidence) -> Markup:
    members = escape(_separator()).join(e.member(ref.strip()) for ref in str(e.raw("members") or "").split(",") if ref)
    return say(
        _(
            "%(count)s connections of one holder or place between %(first)s and %(last)s (%(members)s) each "
            "stay under %(threshold)s, the largest %(largest)s, while together they reach %(total)s."
        ),
        count=e.text("member_count"),
        first=e.day("first_on"),
        last=e.day("last_on"),
        members=members,
        threshold=e.kva("threshold_kva"),
        largest=e.kva("largest_kva"),
        total=e.kva("total_kva"),
    )


@sentence("YK-STEP-LATE")
def _step_late(e: Evidence) -> Markup:
    params = {
        "application": e.application(),
        "type": e.app_type(),
        "step": e.step(),
        "start_on": e.day("start_on"),
        "end_on": e.day("end_on"),
        "days": e.text("working_days"),
        "allowed": e.text("allowed_days"),
    }
    if e.raw("open"):
        return say(
            _(
                "Application %(application)s (%(type)s): the step “%(step)s”, open since %(start_on)s, has taken "
                "%(days)s working days by %(end_on)s; its limit is %(allowed)s."
            ),
            **params,
        )
    return say(
        _(
            "Application %(application)s (%(type)s): the step “%(step)s” took %(days)s working days, from "
            "%(start_on)s to %(end_on)s; its limit is %(allowed)s."
        ),
        **params,
    )
