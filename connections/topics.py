"""What business handling announces through the transactional outbox (``core.outbox``)."""

from __future__ import annotations

# {"application_id": int, "application_no": str, "event_id": int, "action": str, "status": str, "type": str,
#  "step": str | None, "user_ids": [int]}
# an application moved (received, a step done, returned to the customer, resumed, withdrawn, completed); ``user_ids``
# are the people to tell (the signed-in applicant, unless the applicant did it). Notifications sends the notices.
APPLICATION_CHANGED = "connections.application_changed"
# {"application_id": int, "application_no": str}
# a step was done or a paper arrived: business handling's own worker files the sheets and uploads not yet in the
# account's dossier (none before a new connection's account exists; all of them, each with its date, after).
PAPERS_DUE = "connections.papers_due"
