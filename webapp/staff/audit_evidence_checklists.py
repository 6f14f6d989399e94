"""The evidence sentences of the checklist rules: who builds the dossier (FL-BUILDER-MISMATCH) and the processed
work whose sheet never reached the dossier (FL-SHEET-UNFILED). Registered in ``audit_evidence.SENTENCES``."""

from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape

from .audit_evidence import Evidence, _code, _link, say, sentence


@sentence("FL-BUILDER-MISMATCH")
def _builder(e: Evidence) -> Markup:
    params = {
        "dossier": e.dossier(),
        "capacity": e.kva("capacity_kva"),
        "tier": e.code("tier"),
        "expected": e.code("expected_builder"),
    }
    if not e.has("builder"):
        return say(
            _(
                "%(dossier)s records no builder; an account of %(capacity)s (tier: %(tier)s) has its dossier "
                "built by %(expected)s."
            ),
            **params,
        )
    return say(
        _(
            "%(dossier)s records %(builder)s as its builder, but an account of %(capacity)s (tier: %(tier)s) has "
            "its dossier built by %(expected)s."
        ),
        builder=e.code("builder"),
        **params,
    )


@sentence("FL-SHEET-UNFILED")
def _sheet_unfiled(e: Evidence) -> Markup:
    number = str(e.raw("document_no") or "")
    params = {
        "number": escape(number),
        "done_on": e.day("done_on"),
        "dossier": e.dossier(),
        "deadline": e.text("deadline_days"),
    }
    source = e.raw("source")
    if source == "waiver":
        record = e.ledger_line(_("the waiver on the ledger"), f"adjustment-{number.removeprefix('JM-')}")
        text = say(
            _(
                "The approval sheet %(number)s of %(record)s, approved on %(done_on)s, is still not in "
                "%(dossier)s, past the filing deadline of %(deadline)s days."
            ),
            record=record,
            **params,
        )
    elif source == "outage":
        text = say(
            _(
                "The outage notice sheet %(number)s of the outage that ended on %(done_on)s is still not in "
                "%(dossier)s, past the filing deadline of %(deadline)s days."
            ),
            **params,
        )
    else:
        application_no = number.rsplit("-", 1)[0]
        text = say(
            _(
                "The %(sheet)s %(number)s of application %(application)s, done on %(done_on)s, is still not in "
                "%(dossier)s, past the filing deadline of %(deadline)s days."
            ),
            sheet=escape(_code(str(e.raw("doc_type") or ""))),
            application=_link("staff.application_page", application_no, application_no=application_no),
            **params,
        )
    if e.raw("has_dossier") is False:
        text += say(_(" The account has no dossier yet."))
    return text
