"""The API's JSON writer: the encoder's fast walk gives exactly what converting every value first gives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from decimal import Decimal

from pydantic import BaseModel

from webapp.api.framework import dumps, to_jsonable


class Colour(enum.Enum):
    RED = "red"


class Kind(enum.StrEnum):
    BILL = "bill"


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Money:
    amount: Decimal
    on: dt.date
    kind: Kind


class Card(BaseModel):
    number: str
    balance: Decimal


def _slow(value: object) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


def test_every_kind_of_value_is_written_as_converting_first_would() -> None:
    moment = dt.datetime(2026, 12, 7, 8, 30, tzinfo=dt.UTC)
    value = {
        "money": [Decimal("12.5"), Decimal("0.125"), Decimal("-3"), Decimal("1E+2")],
        "days": (dt.date(2026, 1, 31), moment),
        "enums": [Colour.RED, Kind.BILL, Level.HIGH, {Kind.BILL: 1}],
        "nested": {
            "dataclass": Money(Decimal("9.90"), dt.date(2026, 2, 1), Kind.BILL),
            "model": Card(number="1", balance=Decimal("2")),
        },
        "set": frozenset({"甲"}),
        "plain": [1, 2.5, None, True, "中文 \u2028", {"1": [], "2": {}}],
        1: "an int key",
    }
    assert dumps(value) == _slow(value)


def test_a_key_the_encoder_refuses_goes_the_long_way() -> None:
    value = {dt.date(2026, 3, 1): Decimal("1.50"), "inner": {Colour.RED: [Decimal("2")]}}
    assert dumps(value) == _slow(value) == '{"2026-03-01":"1.50","inner":{"Colour.RED":["2.00"]}}'
