"""Small accessors for configuration values that several web modules need."""

from __future__ import annotations

from flask import current_app


def id_hash_key() -> str:
    return str(current_app.config["ID_HASH_KEY"])
