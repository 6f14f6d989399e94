"""Every error code has an English and a Chinese text.

The codes are collected from the source: a literal code given to a ``DomainError`` subclass (``Conflict("x")``,
``InvalidInput.fields(problems, "x")``), a class's own ``code = "x"``, every ``Problem("x")`` and a command's
``refuse("x")``, and the codes the
web layer maps to (pydantic's errors, HTTP errors). A code raised without a text here, or a code given as a
variable (which this test could not see), fails.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

from babel.messages.pofile import read_po

from core.commands import LIMIT_PROBLEMS, PLAIN_PROBLEMS
from tests.support import PROJECT_PACKAGES
from webapp.error_catalogue import ERRORS, PROBLEMS
from webapp.errors import HTTP_CODES, render

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = PROJECT_PACKAGES
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# technical names a Chinese text may keep as they are (file formats, headers, units)
ASCII_ALLOWED = {"PDF", "JPEG", "PNG", "TIFF", "DOCX", "CSV", "JSON", "GeoJSON", "UTF", "MiB", "HTTP"}
ASCII_ALLOWED |= {"Idempotency", "Key", "csv", "geojson", "JavaScript", "XFA", "https"}
ASCII_ALLOWED |= {"manifest", "zip"}  # the batch import's file names (manifest.csv in a .zip)
CATALOGUE = {**ERRORS, **PROBLEMS}
# functions that build codes from a table the test reads itself (``_web_codes``), or the error class itself
NOT_LITERAL_ON_PURPOSE = {
    ("core/commands.py", "refuse"),
    ("notifications/commands.py", "_polygon"),  # passes on the literal Problem codes of notifications.areas
    ("core/commands.py", "field_problem"),
    ("core/errors.py", "fields"),
    ("core/errors.py", "in_rows"),
}


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """DomainError and every class derived from it anywhere in the source (by name)."""
    names = {"DomainError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


@functools.cache  # parsing every source file takes seconds: once for the three tests that read the codes
def collect_codes() -> tuple[frozenset[str], tuple[str, ...]]:
    """(codes found in the source, places where a code is not a literal)."""
    parsed = {path: ast.parse(path.read_text(encoding="utf-8")) for path in _sources()}
    errors = _error_classes(list(parsed.values()))
    codes: set[str] = set()
    unseen: list[str] = []
    for path, tree in parsed.items():
        where = path.relative_to(ROOT)
        on_purpose = {
            line
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef) and (str(where), function.name) in NOT_LITERAL_ON_PURPOSE
            for line in range(function.lineno, (function.end_lineno or function.lineno) + 1)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in errors:
                for statement in node.body:
                    if isinstance(statement, ast.Assign) and [getattr(t, "id", "") for t in statement.targets] == [
                        "code"
                    ]:
                        codes.add(str(_literal(statement.value)))
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            argument: ast.expr | None = None
            if isinstance(func, ast.Name) and func.id in errors | {"Problem", "refuse"}:
                argument = node.args[0] if node.args else None
                if argument is None and func.id in ("Problem", "refuse"):
                    unseen.append(f"{where}:{node.lineno}")
            elif (
                isinstance(func, ast.Attribute)
                and func.attr in ("fields", "in_rows")
                and isinstance(func.value, ast.Name)
                and func.value.id in errors
            ):
                argument = node.args[1] if len(node.args) > 1 else None
            else:
                continue
            if argument is None:
                continue
            code = _literal(argument)
            if code is not None:
                codes.add(code)
            elif node.lineno not in on_purpose:
                unseen.append(f"{where}:{node.lineno}")
    return frozenset(codes), tuple(unseen)


def _web_codes() -> set[str]:
    mapped = set(PLAIN_PROBLEMS.values()) | {code for code, _key, _name in LIMIT_PROBLEMS.values()}
    return mapped | {"not_a_choice", "invalid_value"} | set(HTTP_CODES.values()) | {"csrf_failed", "http_error"}


@functools.cache
def _chinese() -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in (ROOT / "webapp/translations").glob("*/zh/LC_MESSAGES/messages.po"):
        with open(path, "rb") as handle:
            texts.update({str(m.id): str(m.string) for m in read_po(handle) if m.id and m.string})
    return texts


def test_codes_are_literals_so_that_this_test_sees_them() -> None:
    _codes, unseen = collect_codes()
    assert not unseen, f"give the code as a string literal: {unseen}"


def test_every_code_raised_has_a_text() -> None:
    codes, _unseen = collect_codes()
    assert len(codes) > 100
    missing = sorted((codes | _web_codes()) - set(CATALOGUE))
    assert not missing, f"add these codes to webapp/error_catalogue.py: {missing}"


def test_no_text_for_a_code_nothing_raises() -> None:
    codes, _unseen = collect_codes()
    unused = sorted(set(CATALOGUE) - codes - _web_codes())
    assert not unused, f"remove these codes from webapp/error_catalogue.py: {unused}"


def test_an_error_code_is_not_also_a_problem_code() -> None:
    assert not set(ERRORS) & set(PROBLEMS)


def test_every_code_has_an_english_and_a_chinese_text(app) -> None:
    chinese = _chinese()
    faults = []
    for code, text in sorted(CATALOGUE.items()):
        english = text._args[0]  # the message id
        if not english or (english == code and "_" in code):
            faults.append(f"{code}: no English text")
            continue
        if not chinese.get(english):
            faults.append(f"{code}: add the Chinese for {english!r} to webapp/translations/errors/zh/LC_MESSAGES/")
            continue
        if set(PLACEHOLDER.findall(chinese[english])) != set(PLACEHOLDER.findall(english)):
            faults.append(f"{code}: the Chinese text has other parameters than {english!r}")
        params = {name: "7" for name in PLACEHOLDER.findall(english)}
        with app.test_request_context(headers={"Accept-Language": "en"}):
            if render(code, params) != (english % params if params else english):
                faults.append(f"{code}: English rendering differs from {english!r}")
        with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
            shown = render(code, params)
        words = set(re.findall(r"[A-Za-z]{3,}", shown)) - ASCII_ALLOWED
        if not re.search(r"[\u4e00-\u9fff]", shown) or words:
            faults.append(f"{code}: the Chinese text {shown!r} is not Chinese (English words: {words})")
    assert not faults, "\n".join(faults)
