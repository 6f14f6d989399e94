"""Notifications' use-case inputs: an outage notice, from the API's body or the staff form, checked once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from core.commands import Command, refuse
from core.errors import Problem

from .areas import polygon_problems

TITLE_MAX = 200
BODY_MAX = 4000
MAX_ACCOUNT_LIST = 200_000


def _geometry(value: Any) -> Any:
    """A GeoJSON polygon as given, or pasted from a GIS tool: JSON text, a Feature, a FeatureCollection."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise refuse("not_json") from None
    if isinstance(value, dict) and value.get("type") == "FeatureCollection" and value.get("features"):
        value = (value["features"][0] or {}).get("geometry")
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    return value


def _polygon(area: Any) -> Any:
    why = polygon_problems(area)
    if why is not None:
        raise refuse(why.code, **why.params)
    return area


def _account_list(numbers: list[str]) -> list[str]:
    if not numbers or len(numbers) > MAX_ACCOUNT_LIST or not all(n.isdigit() for n in numbers):
        raise refuse("account_list", max=MAX_ACCOUNT_LIST)
    return numbers


def _moment(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


class AnnounceOutage(Command):
    """A planned outage to announce to the customers of an area or of a list of accounts (either, not both)."""

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    area: Annotated[dict[str, Any] | None, BeforeValidator(_geometry), AfterValidator(_polygon)] = Field(
        None, description="GeoJSON Polygon, [lon, lat] positions (WGS-84)"
    )
    account_nos: Annotated[list[str] | None, AfterValidator(lambda v: v if v is None else _account_list(v))] = Field(
        None, description="or an explicit account list"
    )

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        problems: dict[str, Problem] = {}
        if (data.get("area") in (None, "")) == (data.get("account_nos") is None):
            problems["area"] = Problem("area_or_accounts")
        starts, ends = _moment(data.get("starts_at")), _moment(data.get("ends_at"))
        if starts and ends and starts.tzinfo and ends.tzinfo and ends <= starts:
            problems["ends_at"] = Problem("not_after_start")
        return problems
