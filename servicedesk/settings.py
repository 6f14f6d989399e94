"""Service desk settings: the published time limits and the grouping, reopening and intake numbers.

Defaults are State Grid's published service commitments (供电服务承诺): a repair crew on site within 45 minutes
in cities, 90 in the countryside and 2 hours in remote areas, power back within 3 hours in cities and 4 hours
elsewhere, a complaint contacted within 24 hours and answered within 5 working days, a disputed meter tested
within 5 working days. ``init_app`` reads them from the app config (environment variables of the same names).
"""

from __future__ import annotations

from typing import Any

from core.settings import DomainSettings

DEFAULTS: dict[str, Any] = {
    # minutes from the report to the crew on site, by area class
    "SERVICEDESK_ARRIVAL_MINUTES_URBAN": 45,
    "SERVICEDESK_ARRIVAL_MINUTES_RURAL": 90,
    "SERVICEDESK_ARRIVAL_MINUTES_REMOTE": 120,
    # hours from the report to power restored, by area class
    "SERVICEDESK_RESTORE_HOURS_URBAN": 3,
    "SERVICEDESK_RESTORE_HOURS_RURAL": 4,
    "SERVICEDESK_RESTORE_HOURS_REMOTE": 4,
    # complaints and reports of misconduct: first contact (hours), answer (working days)
    "SERVICEDESK_CONTACT_HOURS": 24,
    "SERVICEDESK_REPLY_WORKDAYS": 5,
    # meter check requests: the meter tested, and the result answered (working days)
    "SERVICEDESK_METER_TEST_WORKDAYS": 5,
    # enquiries; opinions, suggestions and praise: answered within (working days)
    "SERVICEDESK_ENQUIRY_WORKDAYS": 1,
    "SERVICEDESK_OPINION_WORKDAYS": 5,
    # area class of each unit's tickets (urban unless listed): "CODE=rural,CODE2=remote"
    "SERVICEDESK_AREA_CLASSES": "",
    # a ticket due within this many minutes is marked "due soon" in the queues
    "SERVICEDESK_DUE_SOON_MINUTES": 60,
    # the reporter may reopen a closed ticket within this many days
    "SERVICEDESK_REOPEN_DAYS": 7,
    # fault reports within this distance and time of each other are one incident once there are enough of them
    "SERVICEDESK_INCIDENT_RADIUS_M": 500,
    "SERVICEDESK_INCIDENT_MINUTES": 30,
    "SERVICEDESK_INCIDENT_MIN_REPORTS": 3,
    # a complaint of an account that complained within this many days is flagged 重复投诉
    "SERVICEDESK_REPEAT_DAYS": 90,
    # the company's service area: a GeoJSON Polygon; empty: the hull of accounts and service points plus a margin
    "SERVICEDESK_SERVICE_AREA": "",
    "SERVICEDESK_SERVICE_AREA_MARGIN_M": 5000,
    # anonymous fault reports per client address
    "SERVICEDESK_ANONYMOUS_LIMIT": "5 per 10 minutes;20 per day",
    # follow-up links asked for with an unknown token, per client address; beyond it every link is refused (429)
    "SERVICEDESK_FOLLOW_LIMIT": "10 per 10 minutes;50 per day",
    # photos: how many per ticket and how large each
    "SERVICEDESK_PHOTO_MAX_BYTES": 5 * 1024 * 1024,
    "SERVICEDESK_PHOTOS_MAX": 3,
    # how often beat escalates overdue tickets (seconds)
    "SERVICEDESK_ESCALATE_SECONDS": 300,
}
SETTINGS = DomainSettings(DEFAULTS)
get = SETTINGS.get


def area_classes() -> dict[str, str]:
    """Unit code -> area class from ``SERVICEDESK_AREA_CLASSES``."""
    result: dict[str, str] = {}
    for part in str(get("SERVICEDESK_AREA_CLASSES")).replace(";", ",").split(","):
        code, _, klass = part.partition("=")
        if code.strip() and klass.strip() in ("urban", "rural", "remote"):
            result[code.strip()] = klass.strip()
    return result
