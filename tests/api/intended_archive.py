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
    ("GET", "/api/v1/archive/search.csv"): READERS,
    ("POST", "/api/v1/archive/imports"): WRITERS,
    ("GET", "/api/v1/archive/imports"): READERS,
    ("GET", "/api/v1/archive/imports/<int:import_id>"): READERS,
    ("GET", "/api/v1/archive/saved-searches"): READERS,
    ("POST", "/api/v1/archive/saved-searches"): READERS,
    ("PUT", "/api/v1/archive/saved-searches/<int:saved_id>"): READERS,
    ("DELETE", "/api/v1/archive/saved-searches/<int:saved_id>"): READERS,
}
