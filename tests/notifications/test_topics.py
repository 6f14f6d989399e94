"""The topics notifications reads are named as their writers name them (it imports neither billing's nor audit's)."""

from __future__ import annotations

import audit.topics
import billing.topics
import servicedesk.topics
from notifications import topics


def test_the_topic_names_notifications_reads_are_the_writers_names() -> None:
    assert topics.BILLS_ISSUED == billing.topics.BILLS_ISSUED
    assert topics.PAYMENT_RECORDED == billing.topics.PAYMENT_RECORDED
    assert topics.FINDING_ASSIGNED == audit.topics.FINDING_ASSIGNED
    assert topics.TICKET_CHANGED == servicedesk.topics.TICKET_CHANGED
