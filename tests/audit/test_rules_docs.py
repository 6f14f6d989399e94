"""The rules are documented in one generated list: CLI, API, docs/audit.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

from audit.docs import rules_markdown
from audit.rules import all_rules

RULES_PAGE = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def test_rules_page_table_is_the_generated_list() -> None:
    from audit.rules import MISSING

    all_rules()
    assert MISSING == []  # every domain the rules read is there
    block = re.search(r"<!-- audit-rules:start -->\n(.*?)\n<!-- audit-rules:end -->", RULES_PAGE.read_text(), re.S)
    assert block, "docs/audit.md lost its audit-rules markers"
    assert block.group(1) == rules_markdown(), "regenerate: flask --app webapp griddesk audit rules --format markdown"


def test_every_rule_says_what_it_checks_and_keeps() -> None:
    assert {r.area for r in all_rules()} == {"filing", "business", "connections"}
    for rule in all_rules():
        assert re.fullmatch(r"[A-Z]{2}-[A-Z0-9-]+", rule.code)
        assert rule.severity in {"low", "medium", "high"} and rule.area in {"filing", "business", "connections"}
        assert rule.title and rule.checks and rule.evidence


def test_cli_lists_the_rules_as_json(app) -> None:
    result = app.test_cli_runner().invoke(args=["griddesk", "audit", "rules", "--format", "json"])
    assert result.exit_code == 0
    assert [r["code"] for r in json.loads(result.output)] == [r.code for r in all_rules()]


def test_rule_titles_and_checks_have_chinese_translations() -> None:
    from babel.messages.pofile import read_po

    path = Path(__file__).resolve().parents[2] / "webapp/translations/audit/zh/LC_MESSAGES/messages.po"
    with open(path, "rb") as handle:
        translated = {m.id for m in read_po(handle) if m.id and m.string}
    missing = [t for r in all_rules() for t in (r.title, r.checks) if t not in translated]
    assert not missing
