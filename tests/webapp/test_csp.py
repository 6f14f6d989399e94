"""The Content-Security-Policy: scripts from the app's files, inline ones only with the response's nonce."""

from __future__ import annotations

import re
from pathlib import Path

from mapping.demo import seed_service_points

TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"
STATIC = Path(__file__).resolve().parents[2] / "webapp" / "static"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", re.I)


def _script_src(policy: str) -> str:
    return next(part.strip() for part in policy.split(";") if part.strip().startswith("script-src"))


def test_pages_run_no_inline_script_without_the_nonce(client, session, world) -> None:
    seed_service_points(session)
    session.commit()
    for path in ("/", "/login", "/map", "/map?lat=30.26&lon=120.16"):
        response = client.get(path)
        scripts = _script_src(response.headers["Content-Security-Policy"])
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, scripts
        inline = INLINE_SCRIPT.findall(response.get_data(as_text=True))
        nonce = re.search(r"'nonce-([^']+)'", scripts)
        if inline:
            assert nonce, f"{path}: inline scripts but no nonce in {scripts}"
            assert all(f'nonce="{nonce.group(1)}"' in attributes for attributes in inline), path


def test_each_response_has_its_own_nonce(client, session, world) -> None:
    nonces = {
        re.search(r"'nonce-([^']+)'", client.get("/map").headers["Content-Security-Policy"]).group(1)  # type: ignore[union-attr]
        for _ in range(3)
    }
    assert len(nonces) == 3


def test_no_template_or_static_page_has_inline_handlers_or_scripts() -> None:
    handler = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
    found = []
    for path in [*TEMPLATES.rglob("*.html"), *(p for p in STATIC.rglob("*.html") if "vendor" not in p.parts)]:
        text = path.read_text()
        found += [f"{path.name}: event handler attribute" for _ in handler.findall(text)]
        found += [f"{path.name}: javascript: URL" for _ in re.findall(r"javascript:", text, re.I)]
        found += [
            f"{path.name}: inline script without the nonce"
            for attributes in INLINE_SCRIPT.findall(text)
            if "csp_nonce()" not in attributes
        ]
    assert found == []
