"""What the audit announces through the transactional outbox (``core.outbox``): topics and their payloads.

No domain imports ``audit``: a subscriber names these topics by their strings.
"""

from __future__ import annotations

# {"finding_id": int, "assignee_id": int, "account_no": str | None, "application_no": str | None, "rule": str}: a
# finding assigned to an archivist or clerk, who is to be told (a finding without an account names its application).
FINDING_ASSIGNED = "audit.finding_assigned"

# {"run_id": int}: an audit run requested; the audit itself subscribes and queues the run's task.
RUN_REQUESTED = "audit.run_requested"
