"""The archivist's desk in Chromium: five files chosen at once by keyboard, each with its own metadata prefilled
from the first, and files dropped on the drop zone."""

from __future__ import annotations

import pytest

from archive.samples import text_pdf
from archive.services import create_dossier
from tests.e2e.test_clerk_pages import _sign_in

pytestmark = pytest.mark.e2e


def _pdf(name: str, body: str) -> dict[str, object]:
    return {"name": name, "mimeType": "application/pdf", "buffer": text_pdf("文件", body)}


def test_an_archivist_files_five_documents_at_once_each_with_its_own_metadata(phone, session, world) -> None:
    create_dossier(session, world.own_account, None)
    session.commit()
    _sign_in(phone, "archivist-a")
    page = phone.page
    phone.go("/staff/archive/dossiers/1000000001")
    page.wait_for_load_state("load")
    form = page.locator("form[data-batch-filing]")
    form.locator("input[name=title]").fill("供用电合同")
    form.locator("input[name=responsible_unit]").fill("营销部")
    form.locator("input[name=formed_on]").fill("2024-03-01")
    names = ["合同.pdf", "协议.pdf", "检查.pdf", "封印.pdf", "报装.pdf"]
    form.locator("input[name=files]").set_input_files([_pdf(n, f"{n}正文") for n in names])
    others = form.locator("fieldset.other-file")
    assert others.count() == 4
    assert [others.nth(i).locator("input[name$='-title']").input_value() for i in range(4)] == ["供用电合同"] * 4
    own = others.nth(0).locator("input[name='file-1-title']")
    own.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("电费交纳协议")
    first_title = form.locator("fieldset[data-first-file] input[name=title]")
    first_title.fill("供用电合同（正本）")  # the others follow the first until changed
    assert own.input_value() == "电费交纳协议"
    assert others.nth(3).locator("input[name='file-4-title']").input_value() == "供用电合同（正本）"
    phone.assert_labelled()
    with page.expect_navigation():
        form.locator("button[type=submit]").press("Enter")
    main = page.inner_text("main")
    assert "5 份文件中已归档 5 份" in main
    assert "已归档：电费交纳协议" in main and main.count("已归档：供用电合同（正本）") == 4
    assert phone.errors == []


def test_files_dropped_on_the_drop_zone_join_the_filing(phone, session, world) -> None:
    create_dossier(session, world.own_account, None)
    session.commit()
    _sign_in(phone, "archivist-a")
    page = phone.page
    phone.go("/staff/archive/dossiers/1000000001")
    page.wait_for_load_state("load")
    page.evaluate(
        """() => {
          const data = new DataTransfer();
          data.items.add(new File(["%PDF-1.4"], "甲.pdf", {type: "application/pdf"}));
          data.items.add(new File(["%PDF-1.4"], "乙.pdf", {type: "application/pdf"}));
          const zone = document.querySelector("[data-dropzone]");
          zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }"""
    )
    assert page.locator("input[name=files]").evaluate("input => input.files.length") == 2
    assert page.locator("[data-file-count]").inner_text() == "已选 2 个文件"
    assert page.locator("fieldset.other-file legend").inner_text().endswith("乙.pdf")
