"""The service desk's use-case inputs, from the API's JSON or the portal and staff forms, checked once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from core.commands import Command
from core.errors import Problem

from .models import TicketKind, TicketStatus

DESCRIPTION_MAX = 2000
NOTE_MAX = 2000
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{4,18}$"
EMAIL_MAX = 254
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL_PATTERN = r"^[^@\s\x00-\x1f<>\"',;]{1,64}@" + _LABEL + r"(?:\." + _LABEL + r")+$"
Kind = Literal["fault_repair", "complaint", "report", "opinion", "suggestion", "praise", "enquiry", "meter_check"]
Status = Literal["dispatched", "on_site", "restored", "contacted", "tested", "replied", "closed", "merged"]
assert set(Kind.__args__) == {k.value for k in TicketKind}  # type: ignore[attr-defined]
assert set(Status.__args__) == {s.value for s in TicketStatus} - {"received"}  # type: ignore[attr-defined]


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class OpenTicket(Command):
    """A fault report, complaint, report of misconduct, opinion, suggestion, praise, enquiry or meter check request.

    A fault report needs a place (a pin or the phone's position) unless it names an account; without a signed-in
    reporter it needs the place and a phone number to call back."""

    kind: Kind
    account_no: str | None = Field(None, max_length=20, pattern=r"^[0-9]+$")
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    contact_phone: str | None = Field(None, max_length=20, pattern=PHONE_PATTERN)
    contact_email: str | None = Field(
        None, max_length=EMAIL_MAX, pattern=EMAIL_PATTERN, description="a passer-by's address for progress notices"
    )

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        problems: dict[str, Problem] = {}
        lat, lon = data.get("lat"), data.get("lon")
        if (lat in (None, "")) != (lon in (None, "")):
            problems["lon" if lon in (None, "") else "lat"] = Problem("lat_and_lon")
        if data.get("kind") == "fault_repair" and lat in (None, "") and not data.get("account_no"):
            problems["lat"] = Problem("place_or_account")
        if data.get("kind") == "fault_repair" and lat not in (None, "") and _number(lat) is None:
            problems["lat"] = Problem("not_a_number")
        return problems


class AnonymousReport(OpenTicket):
    """A passer-by's fault report: the place and a phone number are required, no account."""

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        problems = super().rules(data)
        if data.get("kind") not in (None, "", "fault_repair"):
            problems["kind"] = Problem("sign_in_for_kind")
        if data.get("lat") in (None, ""):
            problems["lat"] = Problem("required")
        if not data.get("contact_phone"):
            problems["contact_phone"] = Problem("required")
        return problems


class MoveTicket(Command):
    """A step of the ticket's flow done (or merging it into ``into``), with a note; ``cause`` for a restored fault,
    ``crew`` when dispatching, a note as the reply when answering."""

    to: Status
    note: str | None = Field(None, max_length=NOTE_MAX)
    cause: str | None = Field(None, max_length=200)
    crew: str | None = Field(None, max_length=64)
    into: str | None = Field(None, max_length=20, description="merged: the ticket this one duplicates")

    @classmethod
    def rules(cls, data: Mapping[str, Any]) -> dict[str, Problem]:
        problems: dict[str, Problem] = {}
        to = data.get("to")
        if to == "restored" and not str(data.get("cause") or "").strip():
            problems["cause"] = Problem("required")
        if to == "dispatched" and not str(data.get("crew") or "").strip():
            problems["crew"] = Problem("required")
        if to == "replied" and not str(data.get("note") or "").strip():
            problems["note"] = Problem("required")
        if to == "merged" and not str(data.get("into") or "").strip():
            problems["into"] = Problem("required")
        return problems


class RateTicket(Command):
    """The reporter's satisfaction with a closed ticket (回访满意度)."""

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=500)


class ReopenTicket(Command):
    """The reporter is not satisfied: the ticket goes back to the queue, with why."""

    reason: str = Field(min_length=1, max_length=NOTE_MAX)


class AnnounceIncident(Command):
    """The outage notice an incident becomes: its text and times; the area is the incident's."""

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=4000)
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class RestoreIncident(Command):
    """Power is back for an incident's reporters, with the fault's cause."""

    cause: str = Field(min_length=1, max_length=200)
