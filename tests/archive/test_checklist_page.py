"""The dossier page shows the account's checklist (its capacity tier's list, each item held or not) and who builds
the dossier; the reference sheet's form records the builder."""

from __future__ import annotations

import html
import re

from tests.support import csrf_token, staff_sign_in


def _page(client) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(client.get("/staff/archive/dossiers/1000000001").get_data(as_text=True))


def _items(page: str) -> dict[str, str]:
    block = re.search(r'<ul class="checklist">(.*?)</ul>', page, re.S)
    assert block, "the checklist is not on the page"
    return dict(re.findall(r"<li>(.*?) · (?:<strong>)?(.*?)(?:</strong>)?</li>", block.group(1)))


def test_the_dossier_page_shows_the_tier_s_list_and_the_builder(client, world, session) -> None:
    staff_sign_in(client, "archivist-a")
    token = csrf_token(client.get("/staff/archive?q=1000000001").get_data(as_text=True))
    assert client.post("/staff/archive", data={"account_no": "1000000001", "csrf_token": token}).status_code == 302
    page = _page(client)
    token = csrf_token(page)
    assert "本卷应有文件" in page and "居民低压（50千伏安以下）" in page
    # the world's own account: residential, 8 kVA, nothing filed yet
    assert _items(page) == {
        "用电申请报装单": "未归档",
        "用户用电档案单": "未归档",
        "供用电合同": "未归档",
        "新装增容工作单": "未归档",
    }
    assert re.search(r"<dt>建档单位</dt>\s*<dd>营销部</dd>", page)
    sheet = "/staff/archive/dossiers/1000000001/reference-sheet"
    refused = client.post(sheet, data={"csrf_token": token, "filer_name": "王立卷", "builder": "somebody"})
    assert refused.status_code == 422 and "建档单位" in refused.get_data(as_text=True)
    recorded = client.post(sheet, data={"csrf_token": token, "filer_name": "王立卷", "builder": "marketing_unit"})
    assert recorded.status_code == 302
    page = _page(client)
    assert "营销单位档案员 · <strong>按容量等级应由营销部建档</strong>" in page
    assert '<option value="marketing_unit" selected>' in page
