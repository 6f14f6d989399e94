"""What the archive announces through the transactional outbox (``core.outbox``): topics and their payloads."""

from __future__ import annotations

# {"document_id": int, "account_no": str}: a document filed into its account's dossier (committed). The archive
# itself subscribes: the filed document's text extraction and indexing are queued from it.
DOCUMENT_FILED = "archive.document_filed"

# read (servicedesk/topics.py): a closed complaint, report or meter dispute to file as its account's complaint record
TICKET_CLOSED = "servicedesk.ticket_closed"

# {"import_id": int}: a batch (zip with manifest.csv) uploaded from the web and stored (committed). The archive itself
# subscribes: the import's rows are filed by a task from it.
IMPORT_REQUESTED = "archive.import_requested"

# read (billing/topics.py, notifications/topics.py): processed sheets to file (archive.sheets)
WAIVER_APPROVED = "billing.waiver_approved"
OUTAGE_SHEETS_DUE = "notifications.outage_sheets_due"
