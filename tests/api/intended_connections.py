"""Intended roles of the business handling endpoints."""

ALL = {"customer", "archivist", "clerk", "supervisor", "admin"}
HANDLERS = {"clerk", "supervisor", "admin"}

INTENDED = {
    # customers for themselves, staff who handle applications on a customer's behalf
    ("POST", "/api/v1/applications"): {"customer", *HANDLERS},
    ("GET", "/api/v1/applications"): ALL,
    ("GET", "/api/v1/applications/<application_no>"): ALL,
    ("POST", "/api/v1/applications/<application_no>/steps/<step>"): HANDLERS,
    ("POST", "/api/v1/applications/<application_no>/documents"): {"customer", *HANDLERS},
    ("GET", "/api/v1/applications/<application_no>/documents/<int:upload_id>"): ALL,
    ("POST", "/api/v1/applications/<application_no>/withdraw"): {"customer"},
    ("POST", "/api/v1/applications/<application_no>/resume"): {"customer", *HANDLERS},
    ("POST", "/api/v1/applications/<application_no>/assignment"): HANDLERS,
    ("POST", "/api/v1/applications/<application_no>/rating"): {"customer"},
}
