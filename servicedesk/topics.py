"""What the service desk announces through the transactional outbox (``core.outbox``)."""

from __future__ import annotations

# {"ticket_id": int, "ticket_no": str, "event_id": int, "action": str, "status": str, "kind": str,
#  "account_no": str | None, "user_ids": [int]}
# a ticket moved (received, a step done, rated, reopened, merged, escalated); ``user_ids`` are the people to tell
# (the signed-in reporter; the unit's supervisors for an escalation). Notifications subscribes and sends notices.
TICKET_CHANGED = "servicedesk.ticket_changed"
