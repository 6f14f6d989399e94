"""The map features a page carries (the JSON that static/mapping/map.js draws)."""

from __future__ import annotations

import json
import re
from typing import Any

_BLOCK = re.compile(r'<script type="application/json" id="map-features-[^"]+">(.*?)</script>', re.S)


def map_features(html: str) -> list[dict[str, Any]]:
    return [feature for block in _BLOCK.findall(html) for feature in json.loads(block)["features"]]
