"""billing: reading books (抄表段), reader files imported in the background, readings are checked before they bill (status, failed checks, a second person's review), meter
changes (换表) are recorded, and bills keep the start and end readings and the multiplier they came from

Revision ID: 0014_readings
Revises: 0012_servicedesk
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_readings"
down_revision = "0012_servicedesk"
branch_labels = None
depends_on = None

KWH = sa.Numeric(precision=14, scale=2)
MULTIPLIER = sa.Numeric(precision=10, scale=2)


def upgrade() -> None:
    op.create_table(
        "reading_books",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_reading_books_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_books")),
        sa.UniqueConstraint("code", name=op.f("uq_reading_books_code")),
    )
    op.create_index("ix_reading_books_unit_id", "reading_books", ["unit_id"], unique=False)
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("reading_book_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("book_seq", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_accounts_reading_book_id_reading_books"), "reading_books", ["reading_book_id"], ["id"]
        )
        batch.create_index("ix_accounts_reading_book_id_book_seq", ["reading_book_id", "book_seq"], unique=False)
    op.create_table(
        "meter_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("old_final", KWH, nullable=False),
        sa.Column("new_start", KWH, nullable=False),
        sa.Column("old_multiplier", MULTIPLIER, nullable=False),
        sa.Column("multiplier", MULTIPLIER, nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('replacement', 'rollover')", name=op.f("ck_meter_changes_kind_known")),
        sa.CheckConstraint("old_final >= 0 AND new_start >= 0", name=op.f("ck_meter_changes_non_negative")),
        sa.CheckConstraint("multiplier > 0 AND old_multiplier > 0", name=op.f("ck_meter_changes_multiplier_positive")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_meter_changes_account_id_accounts")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_meter_changes_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_changes")),
        sa.UniqueConstraint("account_id", "period", name=op.f("uq_meter_changes_account_id_period")),
    )
    op.create_table(
        "reading_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("billed", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_reading_imports_status_known")
        ),
        sa.ForeignKeyConstraint(["imported_by"], ["users.id"], name=op.f("fk_reading_imports_imported_by_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_reading_imports_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_imports")),
    )
    op.create_index("ix_reading_imports_unit_id", "reading_imports", ["unit_id"], unique=False)
    with op.batch_alter_table("meter_readings") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), server_default="passed", nullable=False))
        batch.add_column(sa.Column("checks", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("entered_reading", KWH, nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_note", sa.String(length=500), server_default="", nullable=False))
        batch.create_foreign_key(op.f("fk_meter_readings_reviewed_by_users"), "users", ["reviewed_by"], ["id"])
        batch.create_check_constraint(
            op.f("ck_meter_readings_status_known"), "status IN ('passed', 'held', 'accepted', 'corrected')"
        )
        batch.create_check_constraint(
            op.f("ck_meter_readings_second_person"),
            "reviewed_by IS NULL OR recorded_by IS NULL OR reviewed_by <> recorded_by",
        )
        batch.create_check_constraint(
            op.f("ck_meter_readings_review_complete"),
            "(status IN ('accepted', 'corrected')) = (reviewed_by IS NOT NULL)",
        )
        batch.create_index("ix_meter_readings_status", ["status"], unique=False)
    with op.batch_alter_table("bills") as batch:
        batch.add_column(sa.Column("start_reading", KWH, nullable=True))
        batch.add_column(sa.Column("end_reading", KWH, nullable=True))
        batch.add_column(sa.Column("multiplier", MULTIPLIER, nullable=True))
        batch.add_column(sa.Column("meter_change_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_bills_meter_change_id_meter_changes"), "meter_changes", ["meter_change_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("bills") as batch:
        batch.drop_constraint(op.f("fk_bills_meter_change_id_meter_changes"), type_="foreignkey")
        batch.drop_column("meter_change_id")
        batch.drop_column("multiplier")
        batch.drop_column("end_reading")
        batch.drop_column("start_reading")
    with op.batch_alter_table("meter_readings") as batch:
        batch.drop_index("ix_meter_readings_status")
        batch.drop_constraint(op.f("ck_meter_readings_review_complete"), type_="check")
        batch.drop_constraint(op.f("ck_meter_readings_second_person"), type_="check")
        batch.drop_constraint(op.f("ck_meter_readings_status_known"), type_="check")
        batch.drop_constraint(op.f("fk_meter_readings_reviewed_by_users"), type_="foreignkey")
        for column in ("review_note", "reviewed_at", "reviewed_by", "entered_reading", "checks", "status"):
            batch.drop_column(column)
    op.drop_table("meter_changes")
    op.drop_index("ix_reading_imports_unit_id", table_name="reading_imports")
    op.drop_table("reading_imports")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_reading_book_id_book_seq")
        batch.drop_constraint(op.f("fk_accounts_reading_book_id_reading_books"), type_="foreignkey")
        batch.drop_column("book_seq")
        batch.drop_column("reading_book_id")
    op.drop_index("ix_reading_books_unit_id", table_name="reading_books")
    op.drop_table("reading_books")
