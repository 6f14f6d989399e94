"""Labels for the API's controlled vocabularies (codes stay English; labels are translated).

Listing them here with ``_l`` lets the message extractor find them; templates show ``_(code)``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LABELS = {
    # roles
    "customer": _l("customer"),
    "archivist": _l("archivist"),
    "clerk": _l("clerk"),
    "supervisor": _l("supervisor"),
    "admin": _l("admin"),
    # account categories and statuses
    "residential": _l("residential"),
    "general": _l("general"),
    "large_industrial": _l("large_industrial"),
    "agricultural": _l("agricultural"),
    "active": _l("active"),
    "suspended": _l("suspended"),
    "closed": _l("closed"),
    # staff navigation
    "Home": _l("Home"),
    "Accounts": _l("Accounts"),
    "Units": _l("Units"),
    "Users": _l("Users"),
}
