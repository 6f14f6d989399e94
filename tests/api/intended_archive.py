"""Intended roles of the archive endpoints: archivists file, supervisors read, admins do both; no customers."""

WRITERS = {"archivist", "admin"}
READERS = {"archivist", "supervisor", "admin"}

INTENDED = {
    ("POST", "/api/v1/archive/dossiers"): WRITERS,
    ("GET", "/api/v1/archive/dossiers"): READERS,
    ("GET", "/api/v1/archive/dossiers/<account_no>"): READERS,
    ("POST", "/api/v1/archive/dossiers/<account_no>/documents"): WRITERS,
    ("GET", "/api/v1/archive/documents/<document_id>"): READERS,
    ("GET", "/api/v1/archive/documents/<document_id>/content"): READERS,
    ("POST", "/api/v1/archive/documents/<document_id>/withdrawal"): WRITERS,
    ("POST", "/api/v1/archive/documents/<document_id>/corrections"): WRITERS,
    ("POST", "/api/v1/archive/handovers"): WRITERS,
    ("GET", "/api/v1/archive/dossiers/<account_no>/catalog.pdf"): READERS,
    ("GET", "/api/v1/archive/search"): READERS,
}
