"""The generated list of rules (CLI, the docs/audit.md table, the staff rules page all read it from the code)."""

from __future__ import annotations

from typing import Any

from .rules import all_rules


def rules_table() -> list[dict[str, Any]]:
    return [
        {
            "code": r.code,
            "title": r.title,
            "severity": r.severity,
            "area": r.area,
            "checks": r.checks,
            "evidence": list(r.evidence),
        }
        for r in all_rules()
    ]


def rules_markdown() -> str:
    lines = ["| code | severity | title | what it checks | evidence kept |", "|---|---|---|---|---|"]
    for r in all_rules():
        lines.append(f"| `{r.code}` | {r.severity} | {r.title} | {r.checks} | {', '.join(r.evidence)} |")
    return "\n".join(lines)
