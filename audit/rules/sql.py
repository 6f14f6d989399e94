"""Small portable SQL pieces the rules need (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Date, Integer, String, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from core import clock


class days_between(FunctionElement[int]):
    """Whole days from ``earlier`` to ``later`` (dates or timestamps, compared by calendar date)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_default(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"(CAST({compiler.process(later, **kw)} AS DATE) - CAST({compiler.process(earlier, **kw)} AS DATE))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday(date({compiler.process(later, **kw)})) - julianday(date({compiler.process(earlier, **kw)}))"
        " AS INTEGER)"
    )


def _portable(name: str, type_: Any, default: str, sqlite: str) -> type[FunctionElement[Any]]:
    """A SQL function written once per dialect: ``default`` (PostgreSQL) and ``sqlite`` are templates over the
    arguments ``{0}``, ``{1}``, ..."""
    element = type(name, (FunctionElement,), {"type": type_, "inherit_cache": True, "name": name})

    def compile_with(template: str) -> Any:
        def render(element: Any, compiler: Any, **kw: Any) -> str:
            return template.format(*(compiler.process(c, **kw) for c in element.clauses))

        return render

    compiles(element)(compile_with(default))
    compiles(element, "sqlite")(compile_with(sqlite))
    return element


# the calendar day after a date
day_after = _portable("day_after", Date(), "CAST({0} + 1 AS DATE)", "date({0}, '+1 day')")
# Saturday or Sunday
is_weekend = _portable(
    "is_weekend", Boolean(), "(EXTRACT(ISODOW FROM {0}) >= 6)", "(strftime('%w', {0}) IN ('0', '6'))"
)
# a number cut to a whole number, the same way for every row (grid cells: only consistency matters)
whole = _portable("whole", Integer(), "CAST(FLOOR({0}) AS INTEGER)", "CAST({0} AS INTEGER)")
# the calendar date of a timestamp or of an ISO date string
date_of = _portable("date_of", Date(), "CAST({0} AS DATE)", "date({0})")
# the calendar day a UTC timestamp falls on where the company is: local_date_of(moment, offset_minutes)
_local_date_of = _portable(
    "local_date_of",
    Date(),
    "CAST(({0} AT TIME ZONE 'UTC') + make_interval(mins => {1}) AS DATE)",
    "date({0}, printf('%+d minutes', {1}))",
)


def local_date_of(moment: Any) -> Any:
    """The local day of a stored (UTC) moment, as ``clock.local(moment).date()`` gives it in Python: a waiver
    approved at 01:00 Beijing time belongs to that day, not to the UTC day before. The zone's offset is taken now
    (China keeps one offset all year)."""
    offset = clock.now_local().utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return _local_date_of(moment, literal_column(str(minutes), Integer()))


# joined_in_order(value, order): the group's values joined by commas in ``order`` (an aggregate); SQLite before
# 3.44 has no ORDER BY inside an aggregate, so callers feed the rows in order
joined_in_order = _portable(
    "joined_in_order", String(), "string_agg(CAST({0} AS TEXT), ',' ORDER BY {1})", "group_concat({0}, ',')"
)
# a number written with at least two digits (01, 02, ..., 12)
two_digits = _portable("two_digits", String(), "lpad(CAST({0} AS TEXT), 2, '0')", "printf('%02d', {0})")


class json_items(FunctionElement[Any]):
    """The elements of a JSON array as rows with a text column ``value`` (use ``.table_valued("value")``); anything
    but an array (SQL NULL, JSON null, an object) gives no rows."""

    inherit_cache = True
    name = "json_items"


@compiles(json_items)
def _json_items_default(element: Any, compiler: Any, **kw: Any) -> str:
    (value,) = [compiler.process(c, **kw) for c in element.clauses]
    return f"json_array_elements_text(CASE WHEN json_typeof({value}) = 'array' THEN {value} ELSE '[]'::json END)"


@compiles(json_items, "sqlite")
def _json_items_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    (value,) = [compiler.process(c, **kw) for c in element.clauses]
    return f"json_each(CASE WHEN json_type({value}) = 'array' THEN {value} ELSE '[]' END)"
