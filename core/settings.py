"""A domain's settings: named defaults, overridden by environment variables of the same names, then by the app
config. Each domain keeps one ``DomainSettings`` in its ``settings`` module and reads values with ``get``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


class DomainSettings:
    def __init__(self, defaults: Mapping[str, Any]):
        self.defaults = dict(defaults)
        self._current = dict(defaults)

    def from_environment(self) -> dict[str, Any]:
        """The defaults' keys found in the environment, converted to the default's type."""
        values: dict[str, Any] = {}
        for key, default in self.defaults.items():
            raw = os.environ.get(key)
            if raw is not None:
                values[key] = type(default)(raw)
        return values

    def init_app(self, config: Any) -> None:
        """Fill the app config's missing keys (environment first, then defaults) and take the config's values."""
        for key, value in {**self.defaults, **self.from_environment()}.items():
            config.setdefault(key, value)
        self.configure(config)

    def configure(self, config: Mapping[str, Any]) -> None:
        for key, default in self.defaults.items():
            self._current[key] = config.get(key, default)

    def get(self, key: str) -> Any:
        return self._current[key]
