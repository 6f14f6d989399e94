"""Every user-facing message in code and templates has a zh-CN translation (Chinese is the default)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("webapp/**.py", "python"), ("webapp/templates/**.html", "jinja2")]


def test_every_message_has_a_chinese_translation() -> None:
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
    found = {
        msg[2] if isinstance(msg[2], str) else msg[2][0]
        for msg in extract_from_dir(str(ROOT), METHODS, keywords=keywords)
    }
    assert len(found) > 100  # the extraction read the code and templates
    translated: set[str] = set()
    for path in (ROOT / "webapp/translations").glob("*/zh/LC_MESSAGES/messages.po"):
        with open(path, "rb") as handle:
            translated |= {m.id for m in read_po(handle) if m.id and m.string}
    missing = sorted(found - translated)
    assert not missing, f"add zh_CN translations to webapp/translations/zh/LC_MESSAGES/messages.po: {missing}"


def test_no_message_is_translated_two_ways_in_different_catalogues() -> None:
    """Flask-Babel merges the areas' catalogues and the last one wins: one English text, one translation."""
    by_language: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted((ROOT / "webapp/translations").glob("*/*/LC_MESSAGES/messages.po")):
        area, language = path.parts[-4], path.parts[-3]
        with open(path, "rb") as handle:
            for message in read_po(handle):
                if message.id and message.string:
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    by_language.setdefault(language, {}).setdefault(key, {})[area] = str(message.string)
    assert len({area for messages in by_language.values() for areas in messages.values() for area in areas}) > 1
    clashes = {
        (language, key): areas
        for language, messages in by_language.items()
        for key, areas in messages.items()
        if len(set(areas.values())) > 1
    }
    assert not clashes, f"use a more specific English text for one of them: {clashes}"


def _chinese_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "webapp/translations").glob("*/zh/LC_MESSAGES/messages.po")):
        with open(path, "rb") as handle:
            for message in read_po(handle):
                strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
                texts += [str(s) for s in strings if message.id and s]
    assert len(texts) > 100
    return texts


def test_chinese_pages_call_the_product_by_one_name() -> None:
    """网格通 is the brand in zh-CN (the title of every page); the English name never shows in Chinese text."""
    assert [text for text in _chinese_texts() if "GridDesk" in text] == []


def test_chinese_texts_use_full_width_punctuation() -> None:
    """A comma, colon, semicolon, mark or bracket beside a Chinese character is the full-width one (，：；！？（）),
    except inside a coordinate pair written as code ([经度, 纬度])."""
    import re

    beside = re.compile(r"[\u4e00-\u9fff][,:;!?()]|[,:;!?()]\s?[\u4e00-\u9fff]")
    found = [text for text in _chinese_texts() if beside.search(text.replace("[经度, 纬度]", ""))]
    assert found == []
