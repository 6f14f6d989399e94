"""Intended roles of the service desk endpoints (None: public)."""

ALL = {"customer", "archivist", "clerk", "supervisor", "admin"}
STAFF = ALL - {"customer"}
HANDLERS = {"clerk", "supervisor", "admin"}

INTENDED = {
    # customers and staff; a fault report also without signing in (rate-limited)
    ("POST", "/api/v1/tickets"): None,
    ("GET", "/api/v1/tickets"): ALL,
    ("GET", "/api/v1/tickets/<ticket_no>"): ALL,
    ("POST", "/api/v1/tickets/<ticket_no>/transitions"): HANDLERS,
    ("POST", "/api/v1/tickets/<ticket_no>/rating"): {"customer"},
    ("POST", "/api/v1/tickets/<ticket_no>/reopen"): {"customer"},
    ("POST", "/api/v1/tickets/<ticket_no>/photos"): ALL,
    ("GET", "/api/v1/tickets/<ticket_no>/photos/<int:photo_id>"): ALL,
    ("GET", "/api/v1/incidents"): STAFF,
    ("GET", "/api/v1/incidents/<int:incident_id>"): STAFF,
    # an incident's outage notice is an outage notice: the roles that send those
    ("POST", "/api/v1/incidents/<int:incident_id>/outage-notice"): {"archivist", "clerk", "admin"},
    ("POST", "/api/v1/incidents/<int:incident_id>/restoration"): HANDLERS,
}
