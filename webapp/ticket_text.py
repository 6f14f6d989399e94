"""How the service desk's codes read: ticket kinds, statuses, timeline actions and due-time marks.

Codes stay English in the API; pages and error messages show these labels in the reader's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "fault_repair": _l("Fault repair"),
    "complaint": _l("Complaint"),
    "report": _l("Report of misconduct"),
    "opinion": _l("Opinion"),
    "suggestion": _l("Suggestion"),
    "praise": _l("Praise"),
    "enquiry": _l("Enquiry"),
    "meter_check": _l("Meter check request"),
}
STATUS_LABELS = {
    "received": _l("Received"),
    "dispatched": _l("Crew dispatched"),
    "on_site": _l("Crew on site"),
    "restored": _l("Power restored"),
    "contacted": _l("Customer contacted"),
    "tested": _l("Meter tested"),
    "replied": _l("Answered"),
    "closed": _l("Completed"),
    "merged": _l("Merged as a duplicate"),
}
ACTION_LABELS = {
    **STATUS_LABELS,
    "note": _l("Note"),
    "rated": _l("Rated"),
    "reopened": _l("Reopened"),
    "escalated": _l("Escalated: overdue"),
}
URGENCY_LABELS = {
    "overdue": _l("Overdue"),
    "due_soon": _l("Due soon"),
    "on_time": _l("On time"),
    "done": _l("Done"),
}
INCIDENT_LABELS = {
    "open": _l("Reports coming in"),
    "announced": _l("Outage announced"),
    "restored": _l("Power back"),
}


def kind_label(code: str) -> str:
    return str(KIND_LABELS.get(code, code))


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))
