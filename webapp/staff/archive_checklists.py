"""Words for the dossier's checklist (archive.checklists): the capacity tiers and who builds the dossier."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

TIER_LABELS = {
    "residential_lv": _l("Residential low voltage (below 50 kVA)"),
    "below_50": _l("Below 50 kVA"),
    "below_315": _l("50 kVA to below 315 kVA"),
    "from_315": _l("315 kVA and above"),
}
BUILDER_LABELS = {
    "market_development": _l("Market development office's archivist"),
    "marketing_unit": _l("Marketing unit's archivist"),
    "marketing_department": _l("Marketing department"),
}
