"""Business handling settings: time-limit overrides, the due-soon window, uploads, and the audit's thresholds.

``init_app`` reads them from the app config (environment variables of the same names); the step limits
themselves are in ``flows`` with their sources.
"""

from __future__ import annotations

from typing import Any

from core.settings import DomainSettings

DEFAULTS: dict[str, Any] = {
    # per-step limits in working days, overriding the table: "supply_plan=10,new_hv_dual.supply_plan=25"
    "CONNECTIONS_STEP_DAYS": "",
    # an application due within this many working days is marked "due soon" in the queue
    "CONNECTIONS_DUE_SOON_DAYS": 1,
    # the customer may rate a completed application within this many days
    "CONNECTIONS_RATING_DAYS": 30,
    # uploads: how many per application and how large each
    "CONNECTIONS_UPLOAD_MAX_BYTES": 5 * 1024 * 1024,
    "CONNECTIONS_UPLOADS_MAX": 6,
    # capacity splitting (拆分容量): the thresholds (kVA), the window (days) and the distance (metres) within which
    # applications or accounts of one holder or one place count together
    "CONNECTIONS_SPLIT_THRESHOLDS_KVA": "50,315",
    "CONNECTIONS_SPLIT_WINDOW_DAYS": 365,
    "CONNECTIONS_SPLIT_DISTANCE_M": 100,
    # off-system work (体外循环): accounts connected before this day (ISO date) are legacy and not judged;
    # empty: the day the system's records begin (its first trail entry, or its earliest application's receipt when
    # that is earlier: applications entered for work begun before the system). Set it when importing old applications.
    "CONNECTIONS_CUTOVER_DATE": "",
}
SETTINGS = DomainSettings(DEFAULTS)
get = SETTINGS.get


def step_days() -> dict[str, int]:
    """``CONNECTIONS_STEP_DAYS`` as {"step" or "type.step": days}; malformed parts are refused at start-up."""
    result: dict[str, int] = {}
    for part in str(get("CONNECTIONS_STEP_DAYS")).replace(";", ",").split(","):
        if not part.strip():
            continue
        key, _, days = part.partition("=")
        result[key.strip()] = int(days)
    return result


def split_thresholds() -> tuple[int, ...]:
    return tuple(sorted(int(v) for v in str(get("CONNECTIONS_SPLIT_THRESHOLDS_KVA")).split(",") if v.strip()))
