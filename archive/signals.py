"""Archive and audit announce; other packages listen (sent after the change commits, with plain values)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# kwargs: finding_id: int, assignee_id: int, account_no: str, rule: str
finding_assigned = _signals.signal("finding-assigned")
# kwargs: document_id: int, account_no: str
document_filed = _signals.signal("document-filed")
