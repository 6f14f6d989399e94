"""What billing announces through the transactional outbox (``core.outbox``): topics and their payloads.

Each message is written in the transaction of the change it announces; readers subscribe in their ``init_app``
(billing imports none of them). Payloads are plain JSON values.
"""

from __future__ import annotations

# {"period": "YYYY-MM", "bill_ids": [int, ...]}: bills issued and committed. One message per transaction: a bill
# issued with its reading carries one id, a bill-run chunk all the bills it committed.
BILLS_ISSUED = "billing.bills_issued"

# {"payment_id": int}: a payment recorded (once per payment; history recorded by the demo is not announced).
# The database function payment_record writes this message itself on PostgreSQL (billing.payment_procedure).
PAYMENT_RECORDED = "billing.payment_recorded"

# {"import_id": int}: a reader file stored for import (billing.reading_books); billing's own task enters its rows.
READING_IMPORT_REQUESTED = "billing.reading_import_requested"
# {"refund_ids": [int, ...]}: an approved refund planned back through the providers of online payments
# (billing.online.refunds); billing itself sends them once the approval is committed.
ONLINE_REFUNDS_APPROVED = "billing.online_refunds_approved"
# {"kind": "invoice" | "ebill", "account_no": str, "ref": invoice_no | period, "invoice_id": int | "bill_id": int}:
# an e-invoice issued or a bill made for an account that subscribed to e-mailed documents (billing.invoicing);
# notifications e-mails it with its PDF.
DOCUMENTS_ISSUED = "billing.documents_issued"
# {"account_no", "document_no" ("JM-<adjustment id>"), "title", "formed_on" (YYYY-MM-DD, local), "unit",
#  "facts": [[label, value], ...]}: a late-fee waiver approved by a second person (billing.adjustments), committed.
# The archive files its approval sheet (违约金减免申请及审批) into the account's dossier.
WAIVER_APPROVED = "billing.waiver_approved"
