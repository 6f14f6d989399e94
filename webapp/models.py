"""Import every package's models so that ``Base.metadata`` is complete (migrations, create_all, checks)."""

from __future__ import annotations

import importlib
import importlib.util

from core.db import Base

MODEL_MODULES = (
    "core.identity",
    "core.phone_codes",
    "core.trail",
    "core.outbox",
    "billing.models",
    "billing.online.models",
    "billing.invoicing.models",
    "archive.models",
    "mapping.models",
    "notifications.models",
    "audit.models",
)


def load_all() -> type[Base]:
    for name in MODEL_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            importlib.import_module(name)
    return Base
