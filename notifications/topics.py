"""What notifications announces through the transactional outbox (``core.outbox``), and the topics it reads.

Topics of other domains are named by their strings (their ``topics.py`` is the contract): notifications imports
no domain for them, and no domain imports ``audit``.
"""

from __future__ import annotations

# {"notice_id": int}: a notice stored for sending (an outage announced by staff); notifications subscribes and fans
# it out to its recipients.
NOTICE_PUBLISHED = "notifications.notice_published"

# {"document_no": "TD-<notice id>", "title", "formed_on" (YYYY-MM-DD, local), "unit", "facts": [[label, value], ...],
#  "account_nos": [str, ...]}: an outage notice served on named accounts (not an area announcement), committed. The
# archive files its outage notice sheet (停电通知单) into each account's dossier.
OUTAGE_SHEETS_DUE = "notifications.outage_sheets_due"

# read (billing/topics.py, archive/topics.py, audit/topics.py, servicedesk/topics.py)
BILLS_ISSUED = "billing.bills_issued"
PAYMENT_RECORDED = "billing.payment_recorded"
FINDING_ASSIGNED = "audit.finding_assigned"
TICKET_CHANGED = "servicedesk.ticket_changed"  # servicedesk/topics.py
APPLICATION_CHANGED = "connections.application_changed"  # connections/topics.py
DOCUMENTS_ISSUED = "billing.documents_issued"
