"""Intended roles of the audit endpoints: supervisors decide, archivists and clerks fix what is theirs."""

SUPERVISION = {"supervisor", "admin"}
FINDING_READERS = {"supervisor", "admin", "archivist", "clerk"}

INTENDED = {
    ("POST", "/api/v1/audit/runs"): SUPERVISION,
    ("GET", "/api/v1/audit/runs"): SUPERVISION,
    ("GET", "/api/v1/audit/runs/<int:run_id>"): SUPERVISION,
    ("GET", "/api/v1/audit/rules"): FINDING_READERS,
    ("GET", "/api/v1/audit/violations"): FINDING_READERS,
    ("GET", "/api/v1/audit/violations/<int:finding_id>"): FINDING_READERS,
    ("POST", "/api/v1/audit/violations/<int:finding_id>/transitions"): {"supervisor", "archivist", "clerk"},
    ("GET", "/api/v1/audit/trail"): SUPERVISION,
    ("GET", "/api/v1/audit/trail/verify"): SUPERVISION,
    ("GET", "/api/v1/audit/summary"): SUPERVISION,
}
