"""Service points' use-case inputs: a new point (the API's body, the admin's form, a row of an imported file) and
a change to one (the API's PATCH). Checked once, so every door refuses the same input with the same codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from core.commands import Command, refuse
from core.errors import Problem

from .hours import BadHours, validate_hours
from .models import ServicePointKind

# Services a point may offer (codes; labels live in the web layer's vocabulary).
SERVICES = (
    "bill_payment",  # 电费缴纳
    "new_connection",  # 新装增容
    "account_change",  # 过户更名
    "invoice",  # 发票打印
    "consultation",  # 业务咨询
    "meter_test",  # 校表申请
    "prepaid_card",  # 购电充值
    "ev_charging_ac",  # 交流慢充
    "ev_charging_dc",  # 直流快充
)
CODE_MAX = 32


def _hours(value: dict[str, str]) -> dict[str, str]:
    try:
        return validate_hours(value)
    except BadHours as exc:
        raise refuse("hours_format", days=exc.days) from None


def _services(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - set(SERVICES))
    if unknown:
        raise refuse("unknown_services", unknown=unknown, allowed=list(SERVICES))
    return list(dict.fromkeys(value))


def _code(value: str) -> str:
    if not value.replace("-", "").replace("_", "").isalnum():
        raise refuse("code_format", max=CODE_MAX)
    return value


Hours = Annotated[dict[str, str], AfterValidator(_hours)]
Services = Annotated[list[str], AfterValidator(_services)]
Code = Annotated[str, Field(max_length=CODE_MAX), AfterValidator(_code)]


class NewServicePoint(Command):
    """A service point; without lat and lon its address is geocoded."""

    name: str = Field(min_length=1, max_length=128)
    kind: ServicePointKind
    address: str = Field(min_length=1, max_length=255)
    lat: float | None = Field(None, ge=-90, le=90, description="WGS-84; leave out to geocode the address")
    lon: float | None = Field(None, ge=-180, le=180)
    hours: Hours = Field(default_factory=dict, description='{"mon": "08:30-17:30", ...}')
    services: Services = Field(default_factory=list)
    phone: str = Field("", max_length=32)
    code: Code | None = Field(None, description="letters, digits, - and _; made up when absent")
    unit_code: str | None = Field(None, description="a unit in the admin's subtree (default: the admin's)")

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        given = {name for name in ("lat", "lon") if data.get(name) not in (None, "")}
        if len(given) == 1:
            return {"lon" if "lat" in given else "lat": Problem("lat_lon_together")}
        return {}

    def values(self) -> dict[str, Any]:
        """The point's fields as given (unit_code and absent coordinates or code left out)."""
        return self.model_dump(exclude={"unit_code"}, exclude_none=True)


class ServicePointChange(Command):
    """The fields of a point to change; the others stay."""

    name: str | None = Field(None, min_length=1, max_length=128)
    kind: ServicePointKind | None = None
    address: str | None = Field(None, min_length=1, max_length=255)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    hours: Hours | None = None
    services: Services | None = None
    phone: str | None = Field(None, max_length=32)
    code: Code | None = None

    def values(self) -> dict[str, Any]:
        """The fields given."""
        return self.model_dump(exclude_unset=True)
