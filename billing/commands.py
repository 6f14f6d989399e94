"""Billing's use-case inputs: what the API's bodies, the clerk's forms and the payment files' rows carry.

Each command checks its fields and its rules once (``Command.parse``), so the API and the pages refuse the same
input with the same codes: a counter payment needs its receipt number, a customer pays only through the app and
staff record only counter, bank and third-party payments, a rejection needs a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, field_validator

from billing.models import AdjustmentKind, Category, Channel, MeterChangeKind
from billing.rules import parse_period
from core import clock
from core.commands import Command, refuse
from core.db import utcnow
from core.errors import Forbidden, Problem
from core.identity import Role

ACCOUNT_NO_MAX = 20
MAX_PAYMENT = Decimal("100000000")
REASON_MAX = 500
# the channels each role may record: staff record what reaches the company; nobody records an online ("app")
# payment by hand, only the payment provider's verified confirmation does; customers record nothing
RECORDABLE_CHANNELS: dict[str, frozenset[Channel]] = {
    Role.CLERK: frozenset({Channel.COUNTER, Channel.BANK, Channel.THIRD_PARTY}),
    Role.ADMIN: frozenset({Channel.COUNTER, Channel.BANK, Channel.THIRD_PARTY}),
}
FILE_CHANNELS = frozenset({Channel.BANK, Channel.THIRD_PARTY})
# clocks disagree a little: a payment time this far from now is "now"
CLOCK_SKEW = dt.timedelta(minutes=5)
# how far back a bank's or provider's file may date a payment (a late file, a month-end statement)
PAYMENT_FILE_MAX_AGE_DAYS = 45


def _cents(value: Any) -> Decimal | None:
    """A finite amount with at most two decimals, or None."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or abs(amount) >= MAX_PAYMENT * 100:
        return None
    if amount != amount.quantize(Decimal("0.01")):
        return None
    return amount


def _payment_amount(value: Any) -> Decimal:
    amount = _cents(value)
    if amount is None or amount <= 0 or amount > MAX_PAYMENT:
        raise refuse("payment_amount")
    return amount


def _adjustment_amount(value: Any) -> Decimal:
    amount = _cents(value)
    if amount is None or amount == 0:
        raise refuse("adjustment_amount")
    return amount


def _account_no(value: str) -> str:
    if not value.isdigit() or len(value) > ACCOUNT_NO_MAX:
        raise refuse("account_no_format", max=ACCOUNT_NO_MAX)
    return value


def _id_last4(value: str) -> str:
    value = value.upper()
    if len(value) != 4 or not all(c.isdigit() or c == "X" for c in value):
        raise refuse("id_last4_format")
    return value


class OpenAccount(Command):
    """A power account (户) in a unit, on a tariff."""

    account_no: Annotated[str, AfterValidator(_account_no)] = Field(description="digits, at most 20")
    holder_name: str = Field(min_length=1, max_length=128)
    id_last4: Annotated[str, AfterValidator(_id_last4)] = Field(description="the ID number's last 4 (digits or X)")
    address: str = ""
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    category: Category
    capacity_kva: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    tariff_code: str = Field(min_length=1, max_length=32)
    unit_code: str = Field(min_length=1)
    connected_on: dt.date | None = None
    meter_multiplier: Decimal | None = Field(None, gt=0, max_digits=10, decimal_places=2)


def _kwh(value: Any) -> Decimal | None:
    """A non-negative number of kWh (None stays None); ValueError otherwise."""
    if value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite() or number < 0:
        raise ValueError(value)
    return number


def _reading(value: Any) -> Decimal | None:
    try:
        return _kwh(value)
    except ValueError:
        raise refuse("not_a_reading") from None


def _band(value: Any) -> Decimal | None:
    try:
        return _kwh(value)
    except ValueError:
        raise refuse("band_reading") from None


def _period(value: str) -> str:
    if parse_period(value) is None:
        raise refuse("not_a_period")
    return value


BANDS = ("peak", "flat", "valley")


class _ReadingValues(Command):
    """A cumulative reading: ``reading``, or ``peak``, ``flat`` and ``valley`` (time-of-use meters; the reading is
    then their sum)."""

    reading: Annotated[Decimal | None, BeforeValidator(_reading)] = None
    peak: Annotated[Decimal | None, BeforeValidator(_band)] = None
    flat: Annotated[Decimal | None, BeforeValidator(_band)] = None
    valley: Annotated[Decimal | None, BeforeValidator(_band)] = None

    @classmethod
    def value_problems(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        given = [band for band in BANDS if data.get(band) is not None]
        if given:
            return {band: Problem("band_reading") for band in BANDS if band not in given}
        if data.get("reading") is None:
            return {"reading": Problem("reading_required")}
        return {}

    @property
    def bands(self) -> tuple[Decimal, Decimal, Decimal] | None:
        if self.peak is None or self.flat is None or self.valley is None:
            return None
        return (self.peak, self.flat, self.valley)

    @property
    def total(self) -> Decimal:
        """The cumulative reading: as given, or the bands' sum."""
        if self.reading is not None:
            return self.reading
        return sum(self.bands or (), Decimal(0))


class RecordReading(_ReadingValues):
    """A cumulative meter reading for a period: ``reading``, or ``peak``, ``flat`` and ``valley`` (time-of-use
    meters; the reading is then their sum)."""

    account_no: str = Field(min_length=1, max_length=ACCOUNT_NO_MAX)
    period: Annotated[str, AfterValidator(_period)] = Field(description="YYYY-MM")

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        return cls.value_problems(data)


class BindAccount(Command):
    """A customer binding an account: its number, the holder's name, the last 4 of the holder's ID number."""

    account_no: str = Field(min_length=1, max_length=ACCOUNT_NO_MAX)
    holder_name: str = Field(min_length=1, max_length=128)
    id_last4: str = Field(min_length=4, max_length=4)


class RecordPayment(Command):
    """A payment to record: the body of ``POST /api/v1/payments``, the counter's form, a payment file's row."""

    account_no: str = Field(min_length=1, max_length=20)
    amount: Annotated[Decimal, BeforeValidator(_payment_amount)] = Field(
        description="yuan, positive, at most 2 decimals"
    )
    channel: Channel
    paid_at: AwareDatetime | None = Field(None, description="ISO 8601 with offset; now when absent")
    reference: str = Field("", max_length=64, description="the channel's reference; the receipt number at the counter")

    @field_validator("paid_at")
    @classmethod
    def _paid_at_in_bounds(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return value
        now = clock.now_local()
        if value > now + CLOCK_SKEW:
            raise refuse("in_future")
        cls.refuse_past(value, now)
        return value

    @classmethod
    def refuse_past(cls, paid_at: dt.datetime, now: dt.datetime) -> None:
        """A payment recorded by hand happens now: only a bank's or provider's file dates one in the past."""
        if paid_at < now - CLOCK_SKEW:
            raise refuse("backdated")

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        # a counter payment without its receipt number cannot be reconciled (audit rule BZ-PAYMENT-UNMATCHED)
        if data.get("channel") == Channel.COUNTER and not str(data.get("reference") or "").strip():
            return {"reference": Problem("receipt_number_required")}
        return {}

    def check_recorder(self, role: str) -> None:
        """Refuse (403) a channel the role may not record."""
        if self.channel not in RECORDABLE_CHANNELS.get(role, frozenset()):
            raise Forbidden("channel_not_allowed")

    def fields(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """The payment's values for recording (``paid_at`` now when not given, in UTC)."""
        paid_at = self.paid_at or now or utcnow()
        return {
            "account_no": self.account_no,
            "amount": self.amount,
            "channel": Channel(self.channel),
            "paid_at": paid_at.astimezone(dt.UTC),
            "reference": self.reference,
        }


class PaymentFileRow(RecordPayment):
    """A row of a bank's or third-party channel's payment file: the channel's own reference, and a payment time
    that may lie up to ``PAYMENT_FILE_MAX_AGE_DAYS`` back (the staff member who imports the file is recorded)."""

    @classmethod
    def refuse_past(cls, paid_at: dt.datetime, now: dt.datetime) -> None:
        if paid_at < now - dt.timedelta(days=PAYMENT_FILE_MAX_AGE_DAYS):
            raise refuse("too_old", days=PAYMENT_FILE_MAX_AGE_DAYS)

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        problems = dict(super().rules(data))
        if data.get("channel") not in FILE_CHANNELS:
            problems["channel"] = Problem("not_a_choice", allowed=sorted(FILE_CHANNELS))
        if not str(data.get("reference") or "").strip():
            problems["reference"] = Problem("required")
        return problems


class RequestAdjustment(Command):
    """A refund, bill correction or late-fee waiver to be approved by a second person."""

    kind: AdjustmentKind
    account_no: str = Field(min_length=1, max_length=20)
    period: str | None = Field(None, max_length=7, description="the bill's period YYYY-MM (corrections, waivers)")
    amount: Annotated[Decimal, BeforeValidator(_adjustment_amount)] = Field(
        description="yuan, at most 2 decimals; negative only for a correction that credits the account"
    )
    reason: str = Field(min_length=1, max_length=REASON_MAX)

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        problems: dict[str, Problem] = {}
        kind = data.get("kind")
        amount = _cents(data.get("amount"))
        if kind in (AdjustmentKind.REFUND, AdjustmentKind.WAIVER) and amount is not None and amount < 0:
            problems["amount"] = Problem("adjustment_amount")
        if kind in (AdjustmentKind.CORRECTION, AdjustmentKind.WAIVER):
            period = str(data.get("period") or "").strip()
            if not period:
                problems["period"] = Problem("required")
            elif parse_period(period) is None:
                problems["period"] = Problem("not_a_period")
        return problems

    @property
    def bill_period(self) -> str | None:
        """The period of the bill it changes (None for a refund)."""
        return None if self.kind == AdjustmentKind.REFUND else self.period


class DecideAdjustment(Command):
    """Approve or reject a pending request; a rejection says why."""

    approve: bool
    note: str = Field("", max_length=REASON_MAX)

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        if data.get("approve") is False and not str(data.get("note") or "").strip():
            return {"note": Problem("rejection_needs_reason")}
        return {}


class ReviewReading(_ReadingValues):
    """A second person's decision on a held reading: accept it as entered, or correct it (``reading``, or the
    three bands of a time-of-use meter)."""

    decision: Literal["accept", "correct"]
    note: str = Field("", max_length=REASON_MAX)

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        return cls.value_problems(data) if data.get("decision") == "correct" else {}


def _multiplier(value: Any) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise refuse("multiplier_format") from None
    if not number.is_finite() or number <= 0 or number != number.quantize(Decimal("0.01")) or number >= 10**8:
        raise refuse("multiplier_format")
    return number


class RecordMeterChange(Command):
    """A meter replaced (换表) or rolled over before the reading of ``period``: the old meter's final reading,
    the new one's start reading and its multiplier (the account's current one when not given). A rollover's
    final reading is the register's full scale (99999 rolls over at 100000) and its start 0."""

    account_no: str = Field(min_length=1, max_length=ACCOUNT_NO_MAX)
    period: Annotated[str, AfterValidator(_period)] = Field(description="YYYY-MM, the first period on the new meter")
    kind: MeterChangeKind = MeterChangeKind.REPLACEMENT
    changed_on: dt.date
    old_final: Annotated[Decimal | None, BeforeValidator(_reading)] = None
    new_start: Annotated[Decimal | None, BeforeValidator(_reading)] = None
    multiplier: Annotated[Decimal | None, BeforeValidator(_multiplier)] = None
    note: str = Field("", max_length=REASON_MAX)

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        return {name: Problem("required") for name in ("old_final", "new_start") if data.get(name) is None}


class CreatePaymentOrder(Command):
    """A customer paying an account online: the amount defaults to what the account owes today."""

    account_no: str = Field(min_length=1, max_length=ACCOUNT_NO_MAX)
    amount: Annotated[Decimal | None, BeforeValidator(_payment_amount)] = Field(
        None, description="yuan, positive, at most 2 decimals; absent: what the account owes today"
    )
    provider: Literal["alipay", "wechat"]


class SetInvoicePreference(Command):
    """How an account wants its e-invoices (one per payment or one a month) and whether they and its monthly
    e-bills are e-mailed to its customers."""

    mode: Literal["per_payment", "monthly"]
    email: bool = False
