"""billing: payment_applications' bill index covers the columns the ledger reads (PostgreSQL INCLUDE), so a
bill's applications are read from the index alone

Revision ID: 0012_readpath
Revises: 0014_readings
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012_readpath"
down_revision = "0014_readings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no INCLUDE: the plain index stays
    op.execute("DROP INDEX ix_payment_applications_bill_id")
    op.execute(
        "CREATE INDEX ix_payment_applications_bill_id ON payment_applications (bill_id) "
        "INCLUDE (applied_on, principal, late_fee, id)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_payment_applications_bill_id")
    op.execute("CREATE INDEX ix_payment_applications_bill_id ON payment_applications (bill_id)")
