"""Own and foreign instances of every scoped resource kind, for the permission matrix.

A provider takes the World and returns (own_path_params, foreign_path_params). Domains add theirs in
``tests/api/resources_<domain>.py`` with ``@provider("kind")``; this module imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from tests.support import World

Params = dict[str, Any]
PROVIDERS: dict[str, Callable[[World, Any], tuple[Params, Params]]] = {}
# Kinds whose provider takes the role too, (world, session, role): a resource that belongs to one user (a saved
# search), so that each role acts on its own.
PER_ROLE: set[str] = set()
# Path parameters of endpoints without a scoped resource (e.g. a billing period), by parameter name.
DEFAULT_PARAMS: Params = {"period": "2026-01"}


def provider(
    kind: str,
) -> Callable[[Callable[[World, Any], tuple[Params, Params]]], Callable[[World, Any], tuple[Params, Params]]]:
    def register(
        fn: Callable[[World, Any], tuple[Params, Params]],
    ) -> Callable[[World, Any], tuple[Params, Params]]:
        PROVIDERS[kind] = fn
        return fn

    return register


@provider("account")
@provider("account_card")
def _accounts(world: World, session: Any) -> tuple[Params, Params]:
    return {"account_no": world.own_account.account_no}, {"account_no": world.foreign_account.account_no}


def load_providers() -> None:
    import tests.api as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("resources_"):
            importlib.import_module(f"tests.api.{info.name}")
