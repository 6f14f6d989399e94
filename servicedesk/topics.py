"""What the service desk announces through the transactional outbox (``core.outbox``)."""

from __future__ import annotations

# {"ticket_id": int, "ticket_no": str, "event_id": int, "action": str, "status": str, "kind": str,
#  "account_no": str | None, "user_ids": [int], "contact_email": str | None, "follow_token": str | None}
# a ticket moved (received, a step done, rated, reopened, merged, escalated); ``user_ids`` are the people to tell
# (the signed-in reporter; the unit's supervisors for an escalation). Notifications subscribes and sends notices.
# ``contact_email``: a passer-by's address, told of each step by e-mail; ``follow_token``: their follow-up link's
# token, on the ``received`` message only (the mail that gives them the link).
TICKET_CHANGED = "servicedesk.ticket_changed"
# {"ticket_id", "ticket_no", "account_no", "kind", "kind_label", "description", "reply", "unit", "handler",
#  "received_at", "closed_at", "closed_on" (YYYY-MM-DD, local), "repeated", "reopened",
#  "timeline": [{at, action, note}]}
# a complaint, report of misconduct or meter check of an account was closed (``records.complaint_record``); the
# archive files it into the account's dossier as a record of the complaint file (客户投诉档案).
TICKET_CLOSED = "servicedesk.ticket_closed"
