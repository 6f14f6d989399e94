"""Audit settings (numbers are configuration, not code), set from the app config by ``init_app``."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from core import clock

from .rules import RuleContext

DEFAULTS: dict[str, Any] = {
    "AUDIT_FILING_DEADLINE_DAYS": 30,  # processed sheets must be filed within this many days
    "AUDIT_LARGE_DOSSIER_DAYS": 30,  # a >= 315 kVA dossier must be complete this long after connection
    "AUDIT_DOSSIER_GRACE_DAYS": 30,  # smaller accounts: required documents are checked after this
    "AUDIT_TARGET_RATE": 0.98,  # filing rate and completeness target on the dashboard
    "AUDIT_INCREMENTAL_SECONDS": 600,  # how often beat audits the accounts whose records changed
}
_current: dict[str, Any] = dict(DEFAULTS)


def from_environment() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        raw = os.environ.get(key)
        if raw is not None:
            values[key] = type(default)(raw)
    return values


def configure(config: Any) -> None:
    for key in DEFAULTS:
        if key in config:
            _current[key] = config[key]


def get(key: str) -> Any:
    return _current[key]


def target() -> float:
    """The filing rate and completeness target (``AUDIT_TARGET_RATE``, 0.98): the one setting the dashboard,
    the API's summary and the CLI's report compare against."""
    return float(_current["AUDIT_TARGET_RATE"])


def today() -> dt.date:
    return clock.today_local()


def context(today_: dt.date | None = None) -> RuleContext:
    return RuleContext(
        today=today_ or today(),
        filing_deadline_days=int(_current["AUDIT_FILING_DEADLINE_DAYS"]),
        large_dossier_days=int(_current["AUDIT_LARGE_DOSSIER_DAYS"]),
        dossier_grace_days=int(_current["AUDIT_DOSSIER_GRACE_DAYS"]),
    )
