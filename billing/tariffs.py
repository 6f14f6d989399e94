"""Tariffs as data: validation, creation, lookup by code and date, and the price lines of a bill."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Date, Select, bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from billing.ledger import money
from billing.models import Account, Category, Tariff, TariffKind, TariffTier
from core import trail
from core.errors import Conflict, InvalidInput, NotFound, Problem


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and number >= 0 else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def create_tariff(session: Session, data: dict[str, Any], *, actor_id: int | None) -> Tariff:
    """Create a tariff from API-shaped data (the shape of POST /api/v1/billing/tariffs), reporting every field
    problem at once."""
    problems: dict[str, Problem] = {}
    code = str(data.get("code") or "").strip()
    if not code:
        problems["code"] = Problem("required")
    elif len(code) > 32:
        problems["code"] = Problem("too_long", max=32)
    if data.get("category") not in set(Category):
        problems["category"] = Problem("not_a_choice", allowed=list(Category))
    kind = data.get("kind")
    if kind not in set(TariffKind):
        problems["kind"] = Problem("not_a_choice", allowed=list(TariffKind))
    valid_from = _date(data.get("valid_from"))
    if valid_from is None:
        problems["valid_from"] = Problem("not_a_date")
    valid_to = None
    if data.get("valid_to") is not None:
        valid_to = _date(data.get("valid_to"))
        if valid_to is None:
            problems["valid_to"] = Problem("not_a_date")
        elif valid_from and valid_to < valid_from:
            problems["valid_to"] = Problem("before_start")
    tariff = Tariff(code=code, category=data.get("category"), kind=kind, valid_from=valid_from, valid_to=valid_to)
    if kind == TariffKind.FLAT:
        price = _decimal(data.get("price"))
        if price is None:
            problems["price"] = Problem("not_a_price")
        tariff.price = price
    elif kind == TariffKind.TOU:
        raw_tou = data.get("tou")
        tou: dict[str, Any] = raw_tou if isinstance(raw_tou, dict) else {}
        prices = {band: _decimal(tou.get(band)) for band in ("peak", "flat", "valley")}
        for band, price in prices.items():
            if price is None:
                problems[f"tou.{band}"] = Problem("not_a_price")
        tariff.peak_price, tariff.flat_price, tariff.valley_price = prices["peak"], prices["flat"], prices["valley"]
    elif kind == TariffKind.TIERED:
        tiers = data.get("tiers")
        if not isinstance(tiers, list) or not tiers:
            problems["tiers"] = Problem("tiers_format")
        else:
            previous = Decimal(0)
            for index, tier in enumerate(tiers):
                tier = tier if isinstance(tier, dict) else {}
                price = _decimal(tier.get("price"))
                if price is None:
                    problems[f"tiers.{index}.price"] = Problem("not_a_price")
                last = index == len(tiers) - 1
                bound = tier.get("up_to_kwh")
                if last:
                    if bound is not None:
                        problems[f"tiers.{index}.up_to_kwh"] = Problem("last_tier_unbounded")
                    up_to = None
                else:
                    up_to = _decimal(bound)
                    if up_to is None or up_to <= previous:
                        problems[f"tiers.{index}.up_to_kwh"] = Problem("tier_bound_not_above_previous")
                    else:
                        previous = up_to
                if price is not None:
                    tariff.tiers.append(TariffTier(seq=index + 1, up_to_kwh=up_to, price=price))
    if problems:
        raise InvalidInput.fields(problems)
    assert valid_from is not None
    clash = session.scalar(
        select(Tariff.id).where(
            Tariff.code == code,
            or_(Tariff.valid_to.is_(None), Tariff.valid_to >= valid_from),
            Tariff.valid_from <= (valid_to or dt.date.max),
        )
    )
    if clash is not None:
        raise Conflict("tariff_overlaps", tariff=code)
    tariff.created_by = actor_id
    session.add(tariff)
    session.flush()
    trail.record(
        session,
        actor_id=actor_id,
        action="tariff.created",
        entity="tariff",
        entity_id=tariff.id,
        after=tariff_dict(tariff),
    )
    return tariff


def tariff_dict(tariff: Tariff) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": tariff.id,
        "code": tariff.code,
        "category": tariff.category,
        "kind": tariff.kind,
        "valid_from": tariff.valid_from,
        "valid_to": tariff.valid_to,
    }
    if tariff.kind == TariffKind.FLAT:
        data["price"] = tariff.price
    elif tariff.kind == TariffKind.TOU:
        data["tou"] = {"peak": tariff.peak_price, "flat": tariff.flat_price, "valley": tariff.valley_price}
    else:
        data["tiers"] = [{"up_to_kwh": t.up_to_kwh, "price": t.price} for t in tariff.tiers]
    return data


def _in_force(chosen: Select[Any], code: Any = None) -> Select[Any]:
    """``chosen`` narrowed to the tariff of the code ``code`` (default: the parameter ``:code``) in force on the
    day ``:on``."""
    on = bindparam("on", type_=Date())
    return (
        chosen.where(
            Tariff.code == (bindparam("code") if code is None else code),
            Tariff.valid_from <= on,
            or_(Tariff.valid_to.is_(None), Tariff.valid_to >= on),
        )
        .order_by(Tariff.valid_from.desc())
        .limit(1)
    )


@functools.cache
def _tariff_query() -> Select[Any]:
    """The tariff of a code in force on a day, with its tiers (every caller reads them); built once."""
    return _in_force(select(Tariff).options(joinedload(Tariff.tiers)))


def tariff_for(session: Session, code: str, on: dt.date) -> Tariff:
    tariff = session.scalar(_tariff_query(), {"code": code, "on": on})
    if tariff is None:
        raise NotFound("tariff_not_found", tariff=code, on=on.isoformat())
    return tariff


@dataclass(frozen=True, slots=True)
class TierPrice:
    seq: int
    up_to_kwh: Decimal | None
    price: Decimal


@dataclass(frozen=True, slots=True)
class PriceTable:
    """A tariff's prices as plain values: what ``price_lines`` reads, for pricing many bills (the bill run) without
    an ORM attribute lookup per value."""

    id: int
    kind: str
    price: Decimal | None
    peak_price: Decimal | None
    flat_price: Decimal | None
    valley_price: Decimal | None
    tiers: tuple[TierPrice, ...]

    @classmethod
    def of(cls, tariff: Tariff) -> PriceTable:
        return cls(
            tariff.id,
            tariff.kind,
            tariff.price,
            tariff.peak_price,
            tariff.flat_price,
            tariff.valley_price,
            tuple(TierPrice(t.seq, t.up_to_kwh, t.price) for t in tariff.tiers),
        )


@functools.cache
def _account_price_table_query() -> Any:
    """The tariff that the account ``:account_id`` is on, in force on ``:on``, as plain rows: its prices on each of
    its tiers' rows (one row if it has none)."""
    code = select(Account.tariff_code).where(Account.id == bindparam("account_id")).scalar_subquery()
    return (
        select(
            Tariff.id,
            Tariff.kind,
            Tariff.price,
            Tariff.peak_price,
            Tariff.flat_price,
            Tariff.valley_price,
            TariffTier.seq,
            TariffTier.up_to_kwh,
            TariffTier.price,
        )
        .outerjoin(TariffTier, TariffTier.tariff_id == Tariff.id)
        .where(Tariff.id == _in_force(select(Tariff.id), code).scalar_subquery())
        .order_by(TariffTier.seq)
    )


def account_price_table(session: Session, account_id: int, on: dt.date) -> PriceTable | None:
    """``PriceTable.of`` the tariff the account is on that is in force on ``on`` (None if none is), read as plain
    rows in one statement (the usage page's tier progress reads it for a plain account card)."""
    rows = session.execute(_account_price_table_query(), {"account_id": account_id, "on": on}).all()
    if not rows:
        return None
    id_, kind, price, peak, flat, valley = rows[0][:6]
    tiers = tuple(TierPrice(seq, up_to, tier_price) for *_prices, seq, up_to, tier_price in rows if seq is not None)
    return PriceTable(id_, kind, price, peak, flat, valley, tiers)


@dataclass(frozen=True)
class Line:
    item: str
    kwh: Decimal
    price: Decimal
    amount: Decimal


def price_lines(
    tariff: Tariff | PriceTable,
    kwh: Decimal,
    year_kwh_before: Decimal,
    bands: tuple[Decimal, Decimal, Decimal] | None = None,
) -> list[Line]:
    """The bill lines for ``kwh``: tiered by annual cumulative kWh, one line per TOU band, or one flat line."""
    if tariff.kind == TariffKind.TOU:
        peak, flat, valley = bands if bands is not None else (Decimal(0), kwh, Decimal(0))
        prices = (tariff.peak_price, tariff.flat_price, tariff.valley_price)
        return [
            Line(item, q, p or Decimal(0), money(q * (p or Decimal(0))))
            for item, q, p in zip(("peak", "flat", "valley"), (peak, flat, valley), prices, strict=True)
        ]
    if tariff.kind == TariffKind.FLAT:
        price = tariff.price or Decimal(0)
        return [Line("energy", kwh, price, money(kwh * price))]
    lines: list[Line] = []
    start, end = year_kwh_before, year_kwh_before + kwh
    lower = Decimal(0)
    for tier in tariff.tiers:
        upper = tier.up_to_kwh
        top = end if upper is None else min(end, upper)
        part = top - max(start, lower)
        if part > 0:
            lines.append(Line(f"tier_{tier.seq}", part, tier.price, money(part * tier.price)))
        if upper is not None:
            lower = upper
    if not lines:
        first = tariff.tiers[0]
        lines.append(Line(f"tier_{first.seq}", Decimal(0), first.price, Decimal("0.00")))
    return lines
