"""The documentation: a short README, the docs/ pages it promises, and links that resolve."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


@pytest.mark.parametrize(
    "page",
    ["architecture", "api", "billing", "archive", "audit", "portal", "mapping", "notifications", "operations"]
    + ["benchmarks", "development", "glossary", "payments", "scaling"],
)
def test_docs_page_exists(page: str) -> None:
    assert (ROOT / "docs" / f"{page}.md").is_file()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    broken = [
        target
        for target in LINK.findall(page.read_text())
        if "://" not in target and not target.startswith("mailto:") and not (page.parent / target).exists()
    ]
    assert not broken


def test_nothing_cites_a_design_file_outside_the_repository() -> None:
    """DESIGN.md, API.md, STYLE.md and RECIPES.md are not in the repository, so nothing may send a reader there."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"\b(?:DESIGN|API|STYLE|RECIPES)\.md\b")
    citing = [
        name
        for name in tracked
        if name != "tests/test_docs.py"
        and (ROOT / name).is_file()
        and pattern.search((ROOT / name).read_text(errors="ignore"))
    ]
    assert not citing
