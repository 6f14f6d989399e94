"""Full-text search over Chinese text: words, exact phrases, filters, unit scope, highlights, paging.

Tests taking ``backend`` (or ``app_search``) run on both search backends, Whoosh and PostgreSQL; tests taking
``whoosh`` check what only the Whoosh backend has (generations on disk, segments, its codec and writer)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from archive.interfaces import IndexEntry, SearchBackend, SearchQuery
from archive.search.analysis import ChineseAnalyzer
from archive.search.whoosh_backend import WhooshBackend
from tests.archive.helpers import file_via_api, open_dossier, pdf_bytes


def _entry(document_id: int, text: str, **overrides: object) -> IndexEntry:
    values: dict[str, object] = {
        "document_id": document_id,
        "account_no": "1000000001",
        "holder_name": "张伟",
        "unit_path": "/1/2/",
        "doc_type": "power_supply_contract",
        "title": "合同",
        "text": text,
        "formed_on": dt.date(2024, 3, 1),
        "filed_on": dt.date(2024, 3, 2),
        "fingerprint": f"f{document_id}",
    }
    values.update(overrides)
    return IndexEntry(**values)  # type: ignore[arg-type]


def test_the_backend_satisfies_the_protocol(backend):
    assert isinstance(backend, SearchBackend)


def test_tokenizer_counts_positions_by_word_and_keeps_character_offsets():
    analyzer = ChineseAnalyzer()
    tokens = [(t.text, t.pos, t.startchar, t.endchar) for t in analyzer("签订供用电合同", positions=True, chars=True)]
    assert tokens == [("签订", 0, 0, 2), ("供用电", 1, 2, 5), ("用电", 1, 3, 5), ("合同", 2, 5, 7)]
    query = [(t.text, t.pos) for t in analyzer("停电通知", positions=True, mode="query")]
    assert query == [("停电通知", 0)]


def test_a_word_inside_a_longer_word_is_found(backend):
    backend.upsert([_entry(1, "已发出停电通知。")])
    assert backend.search(SearchQuery(q="停电")).total == 1
    assert backend.search(SearchQuery(q="停电通知")).total == 1


def test_quoted_phrase_matches_exactly_that_phrase(backend):
    backend.upsert(
        [
            _entry(1, "双方于今日签订供用电合同，约定电费结算方式。"),
            _entry(2, "供用电设施的产权归用电人，另附合同一份。"),  # both words, not as the phrase
        ]
    )
    phrase = backend.search(SearchQuery(q='"供用电合同"'))
    assert [h.document_id for h in phrase.items] == [1]
    words = backend.search(SearchQuery(q="供用电 合同"))
    assert sorted(h.document_id for h in words.items) == [1, 2]


def test_a_quoted_phrase_is_made_of_whole_words(backend):
    """用电 is a word inside 供用电: a bare word finds it there, a phrase starting with it does not; and a phrase
    never runs from one field into the next."""
    backend.upsert([_entry(1, "双方于今日签订供用电合同。"), _entry(2, "居民用电合同另行签订。")])
    assert sorted(h.document_id for h in backend.search(SearchQuery(q="用电")).items) == [1, 2]
    assert [h.document_id for h in backend.search(SearchQuery(q='"用电合同"')).items] == [2]
    assert [h.document_id for h in backend.search(SearchQuery(q='"签订供用电"')).items] == [1]

    backend.upsert([_entry(3, "合同已于当日签订。", title="居民供用电", holder_name="")])  # nor from title into text
    assert [h.document_id for h in backend.search(SearchQuery(q='"供用电合同"')).items] == [1]


def test_word_search_highlights_the_matched_words(backend):
    backend.upsert([_entry(1, "客户申请电费违约金减免，经审批同意。")])
    result = backend.search(SearchQuery(q="违约金"))
    assert result.total == 1
    assert result.items[0].highlight == '客户申请电费<mark class="hit">违约金</mark>减免，经审批同意。'


def test_filters_by_type_account_dates_and_unit_scope(backend):
    backend.upsert(
        [
            _entry(1, "停电通知", doc_type="outage_notice", formed_on=dt.date(2024, 1, 5)),
            _entry(2, "停电通知", account_no="2000000001", unit_path="/1/3/", formed_on=dt.date(2024, 6, 5)),
            _entry(3, "停电通知", formed_on=dt.date(2025, 1, 5)),
        ]
    )

    def ids(**kw: object) -> list[int]:
        return sorted(h.document_id for h in backend.search(SearchQuery(q="停电", **kw)).items)  # type: ignore[arg-type]

    assert ids() == [1, 2, 3]
    assert ids(doc_type="outage_notice") == [1]
    assert ids(account_no="2000000001") == [2]
    assert ids(unit_path="/1/2/") == [1, 3]
    assert ids(date_from=dt.date(2024, 2, 1), date_to=dt.date(2024, 12, 31)) == [2]


def test_paging_reports_the_total(backend):
    backend.upsert([_entry(i, f"抄表记录第{i}份，电量核对无误。") for i in range(1, 26)])
    first = backend.search(SearchQuery(q="电量", page=1, per_page=10))
    third = backend.search(SearchQuery(q="电量", page=3, per_page=10))
    assert first.total == 25 and len(first.items) == 10 and len(third.items) == 5
    assert not {h.document_id for h in first.items} & {h.document_id for h in third.items}


def test_concurrent_writers_wait_their_turn_and_lose_nothing(backend):
    from concurrent.futures import ThreadPoolExecutor

    def write(start: int) -> None:
        for i in range(start, start + 10):
            backend.upsert([_entry(i, f"第{i}号工作单")])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, [0, 100, 200, 300]))
    assert len(dict(backend.fingerprints())) == 40


def test_search_api_finds_filed_documents_within_the_callers_unit(app_search, client, world, session):
    token = world.token("archivist")
    open_dossier(client, token, "1000000001")
    filed = file_via_api(client, token, "1000000001", pdf_bytes("双方签订供用电合同，明确产权分界点。"))
    assert filed.status_code == 201
    session.expire_all()  # the test shares the request's session; read what the task committed
    document = client.get(f"/api/v1/archive/documents/{filed.get_json()['id']}", headers=world.headers("archivist"))
    assert document.get_json()["index_status"] == "indexed"
    response = client.get('/api/v1/archive/search?q="供用电合同"', headers=world.headers("supervisor"))
    body = response.get_json()
    assert body["total"] == 1
    assert body["items"][0]["account_no"] == "1000000001"
    marked = re.findall(r'<mark class="hit">([^<]*)</mark>', body["items"][0]["highlight"])
    assert marked == ["供用电", "合同"] * 2  # the phrase, in the heading and in the body
    bad = client.get(
        "/api/v1/archive/search?q=x&doc_type=letter&from=2024-02-01&to=2024-01-01", headers=world.headers("supervisor")
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["details"]["fields"]) == {"doc_type", "from"}


def test_three_and_four_word_phrases_match_exactly(backend):
    backend.upsert(
        [
            _entry(1, "检查发现计量装置封印完好。双方签订供用电合同。"),
            _entry(2, "计量装置已更换，装置封印完好。双方签订供用电设施协议，随后签订供用电合同。"),
        ]
    )
    assert [h.document_id for h in backend.search(SearchQuery(q='"计量装置封印"')).items] == [1]
    four = backend.search(SearchQuery(q='"双方签订供用电合同"'))  # 双方 签订 供用电 合同: longer than a shingle
    assert [h.document_id for h in four.items] == [1] and four.total == 1
    assert backend.search(SearchQuery(q="计量装置 封印")).total == 2
    assert [h.document_id for h in backend.search(SearchQuery(q='"供用电合同" NOT 设施')).items] == [1]


def test_vectorised_search_agrees_with_whoosh(whoosh):
    import random

    from archive.samples import chinese_text

    rng = random.Random(5)
    entries = [
        _entry(
            i,
            chinese_text(rng, 300),
            doc_type=rng.choice(["outage_notice", "power_supply_contract"]),
            unit_path=rng.choice(["/1/2/", "/1/3/"]),
            formed_on=dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 1500)),
        )
        for i in range(1, 121)
    ]
    whoosh.upsert(entries[:60])
    whoosh.upsert(entries[60:])  # two segments
    whoosh.upsert([entries[5]])  # a replaced document leaves a deleted copy behind
    searcher = whoosh._searcher()
    from whoosh.qparser import MultifieldParser
    from whoosh.query import Prefix, Term, TermRange

    for q in [
        "合同",
        "停电 检修",
        "违约金",
        "欠缴 电费 合同",
        "窃电",
        "合同 OR 停电",
        "合同 NOT 停电",
        "电费 ANDNOT 检修",
    ]:
        for filters in ([], [Term("doc_type", "outage_notice")], [Prefix("unit_path", "/1/3/")]):
            main = MultifieldParser(["title", "text", "holder_name"], searcher.schema).parse(q)
            filters = [*filters, TermRange("formed_on", "2021-01-01", "2022-06-30")]
            fast = whoosh.search(
                SearchQuery(
                    q=q,
                    doc_type="outage_notice"
                    if any(getattr(f, "text", "") == "outage_notice" for f in filters)
                    else None,
                    unit_path="/1/3/" if any(isinstance(f, Prefix) for f in filters) else None,
                    date_from=dt.date(2021, 1, 1),
                    date_to=dt.date(2022, 6, 30),
                    per_page=200,
                )
            )
            rows, total = whoosh._whoosh_search(searcher, main, filters, SearchQuery(q=q, per_page=200), sort=False)
            assert fast.total == total, (q, filters)
            assert sorted(h.document_id for h in fast.items) == sorted(int(f["document_id"]) for f, _s in rows)


def test_the_postings_cache_answers_what_the_index_holds(whoosh):
    """The vectorised search reads a term's postings once per segment and keeps them: the cached lists are
    Whoosh's own, cannot be changed by a caller, and a warm search ranks exactly as a cold one."""
    import numpy as np

    from archive.search import fast

    whoosh.upsert([_entry(i, "停电检修通知" if i % 3 else "电费催缴通知") for i in range(1, 41)])
    whoosh.upsert([_entry(i, "停电计划") for i in range(41, 61)])  # a second segment
    whoosh.upsert([_entry(2, "电费通知")])  # a replaced document leaves a deleted copy behind
    fast.postings_cache.clear()
    cold = whoosh.search(SearchQuery(q="停电 通知", per_page=100))
    assert fast.postings_cache.used > 0
    warm = whoosh.search(SearchQuery(q="停电 通知", per_page=100))
    assert [(h.document_id, h.score) for h in warm.items] == [(h.document_id, h.score) for h in cold.items]
    assert warm.total == cold.total == 26  # 27 in the first segment, less the replaced one
    with whoosh._open().searcher() as searcher:
        leaves = [reader for reader, _base in searcher.reader().leaf_readers()]
        assert len(leaves) >= 2
        ids, _weights = fast._postings(leaves[0], "text", "停电")
        with pytest.raises(ValueError):
            ids[0] = 7
        assert np.array_equal(ids, fast._read_postings(leaves[0], "text", "停电")[0])


def test_segments_are_named_apart_even_when_the_global_random_is_seeded():
    """The search's caches are keyed by segment name; Whoosh would draw it from the global ``random``."""
    import random

    from archive.search.whoosh_backend import _codec

    names = []
    for _ in range(2):
        random.seed(7)
        names.append(_codec().new_segment(None, "MAIN").segment_id())
    assert names[0] != names[1]


def test_the_postings_cache_drops_the_least_recently_used_beyond_its_budget():
    import numpy as np

    from archive.search.fast import _PostingsCache

    def postings(n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(n, dtype=np.int64), np.ones(n)

    cache = _PostingsCache(budget=5_000)
    cache.put(("s", "text", "a"), postings(100))  # 1,600 bytes and a little
    cache.put(("s", "text", "b"), postings(100))
    assert cache.get(("s", "text", "a")) is not None  # now the most recently used
    cache.put(("s", "text", "c"), postings(100))
    assert cache.get(("s", "text", "b")) is None and cache.get(("s", "text", "a")) is not None
    assert cache.used <= cache.budget
    cache.put(("s", "text", "huge"), postings(1_000))  # larger than the whole budget: not kept
    assert cache.get(("s", "text", "huge")) is None and cache.get(("s", "text", "c")) is not None


def test_a_search_without_words_lists_the_newest_first(backend):
    backend.upsert([_entry(i, "抄表记录", formed_on=dt.date(2024, 1, i)) for i in range(1, 6)])
    result = backend.search(SearchQuery(account_no="1000000001", per_page=3, page=1))
    assert result.total == 5 and [h.document_id for h in result.items] == [5, 4, 3]


def test_a_rebuild_is_invisible_until_it_swaps_in_atomically(backend):
    backend.upsert([_entry(1, "旧索引里的停电通知")])
    assert backend.search(SearchQuery(q="停电")).total == 1
    with backend.rebuild() as fresh:
        fresh.upsert([_entry(2, "新索引里的停电通知"), _entry(3, "新索引里的停电计划")], replace=False)
        during = backend.search(SearchQuery(q="停电"))  # searchers keep answering from the live index
        assert [h.document_id for h in during.items] == [1]
        backend.upsert([_entry(4, "重建期间归档的用电检查单")])  # a task writing meanwhile is not blocked
    after = backend.search(SearchQuery(q="停电"))
    assert sorted(h.document_id for h in after.items) == [2, 3]
    assert sorted(i for i, _ in backend.fingerprints()) == [2, 3]  # the catch-up after the swap adds 4
    backend.clear()
    assert backend.search(SearchQuery(q="停电")).total == 0
    assert list(backend.fingerprints()) == []


def test_a_failed_rebuild_leaves_the_live_index_alone(backend):
    backend.upsert([_entry(1, "停电通知")])
    with pytest.raises(RuntimeError), backend.rebuild() as fresh:
        fresh.upsert([_entry(2, "停电通知")])
        raise RuntimeError("database went away")
    assert [h.document_id for h in backend.search(SearchQuery(q="停电")).items] == [1]
    with backend.rebuild() as fresh:  # the next rebuild starts clean: nothing of the failed one comes back
        fresh.upsert([_entry(3, "停电通知")], replace=False)
    assert [h.document_id for h in backend.search(SearchQuery(q="停电")).items] == [3]


def test_whoosh_keeps_the_generation_before_and_discards_a_failed_one(whoosh, tmp_path):
    def generations() -> list[str]:
        return sorted(p.name for p in (tmp_path / "index").iterdir() if p.name.startswith("gen-"))

    whoosh.upsert([_entry(1, "停电通知")])
    with whoosh.rebuild() as fresh:
        fresh.upsert([_entry(2, "停电通知")], replace=False)
    assert len(generations()) == 2  # the new one and the one before (a search may still be reading it)
    with pytest.raises(RuntimeError), whoosh.rebuild() as fresh:
        fresh.upsert([_entry(3, "停电通知")])
        raise RuntimeError("database went away")
    assert len(generations()) == 2
    whoosh.clear()
    assert len(generations()) == 2


def test_an_index_from_before_generations_is_read_until_the_first_rebuild(tmp_path):
    from whoosh import index as whoosh_index

    from archive.search.whoosh_backend import make_schema

    legacy = tmp_path / "index"
    legacy.mkdir()
    writer = whoosh_index.create_in(str(legacy), make_schema()).writer()
    writer.add_document(
        document_id="1",
        account_no="1000000001",
        doc_type="outage_notice",
        title="合同",
        text="停电通知",
        formed_on="2024-01-01",
        fingerprint="x",
    )
    writer.commit()
    backend = WhooshBackend(legacy, lock_timeout=5)
    assert backend.search(SearchQuery(q="停电")).total == 1
    with backend.rebuild() as fresh:
        fresh.upsert([_entry(7, "停电计划")])
    assert [h.document_id for h in backend.search(SearchQuery(q="停电")).items] == [7]


def test_counted_frequency_indexes_what_the_token_path_would():
    import random

    from whoosh.formats import Frequency

    from archive.samples import chinese_text
    from archive.search.analysis import CountedFrequency, ShingleAnalyzer

    texts = [
        "双方签订供用电合同，已发出停电通知。Meter 检查 meter。",
        "B超室与T恤厂……用电  检查——\r\n  计量装置封印 ## 10.5千伏，“欠费”！ AB-12/x_y",
        "",
        "，。",
        chinese_text(random.Random(3), 1500),
    ]
    for text in texts:
        for analyzer in (ChineseAnalyzer(), ShingleAnalyzer()):
            counted = sorted(CountedFrequency(field_boost=2.0).word_values(text, analyzer))
            plain = sorted(Frequency(field_boost=2.0).word_values(text, analyzer))
            assert counted == plain, text


def test_searches_between_writes_see_every_write(backend):
    for i in range(1, 5):  # each search refreshes the cached searcher, which reuses unchanged segments
        backend.upsert([_entry(i, f"第{i}份停电通知")])
        assert backend.search(SearchQuery(q="停电")).total == i


def test_phrases_next_to_wildcards_and_with_slop(backend):
    """A wildcard beside a phrase keeps the phrase exact (on Whoosh the query runs through Whoosh's own matcher);
    a phrase with slop matches all of its words."""
    backend.upsert(
        [
            _entry(1, "双方于今日签订供用电合同，约定电费结算方式。"),
            _entry(2, "供用电设施的产权归用电人，另附合同一份，结算另议。"),
        ]
    )
    assert [h.document_id for h in backend.search(SearchQuery(q='"供用电合同" 结算*')).items] == [1]
    assert [h.document_id for h in backend.search(SearchQuery(q='"签订供用电合同" 结*')).items] == [1]
    assert backend.search(SearchQuery(q='"供用电合同"~2')).total == 2  # near each other: all the words


def test_the_columnar_writer_writes_the_postings_whoosh_writes(tmp_path, monkeypatch):
    """Same documents, batches, replacements, deletions and segment merges through both writers: the
    postings, field lengths and stored fields of the two indexes are identical."""
    from whoosh import index as whoosh_index

    from archive.search import whoosh_backend

    texts = ["供用电合同的计量装置封印", "停电通知单：计划停电检修", "电费违约金减免审批 ABC", "一户一档，供用电合同"]
    entries = [_entry(i, texts[i % 4] * (1 + i % 3), title=f"第{i}号合同") for i in range(1, 41)]

    def build(directory, bulk: bool):
        if not bulk:
            monkeypatch.setattr(whoosh_backend, "BulkSegmentWriter", lambda ix, **options: ix.writer(**options))
        target = WhooshBackend(directory, lock_timeout=30)
        for start in range(0, 40, 9):
            target.upsert(entries[start : start + 9], replace=start % 18 == 0)
        target.delete([3, 17])
        target.upsert(entries[4:6])
        monkeypatch.undo()
        return whoosh_index.open_dir(str(target._live_dir())).reader()

    whoosh_reader, bulk_reader = build(tmp_path / "a", bulk=False), build(tmp_path / "b", bulk=True)
    assert list(bulk_reader.iter_postings()) == list(whoosh_reader.iter_postings())
    assert list(bulk_reader.all_stored_fields()) == list(whoosh_reader.all_stored_fields())
    for field in ("text", "text_sh", "title", "holder_name"):
        assert bulk_reader.field_length(field) == whoosh_reader.field_length(field)


def test_a_rebuild_keeps_one_writer_and_commits_a_segment_per_bounded_batch(whoosh, monkeypatch):
    from archive.search import whoosh_backend

    monkeypatch.setattr(whoosh_backend, "REBUILD_SEGMENT_POSTINGS", 50)
    with whoosh.rebuild() as fresh:
        fresh.upsert([_entry(1, "供用电合同的计量装置封印"), _entry(2, "停电通知单")], replace=False)
        fresh.upsert([_entry(3, "供用 电 合同")], replace=False)
        fresh.upsert([_entry(4, "供用电合同")], replace=False)  # stays held until the rebuild ends
    assert len(whoosh._searcher().reader().leaf_readers()) >= 2
    found = whoosh.search(SearchQuery(q='"供用电合同"'))
    assert sorted(hit.document_id for hit in found.items) == [1, 4]
    assert dict(whoosh.fingerprints()) == {1: "f1", 2: "f2", 3: "f3", 4: "f4"}


def test_fingerprints_are_read_from_a_column_without_the_stored_fields(whoosh, monkeypatch):
    """verify reads every fingerprint: from the fingerprint column, never the stored text (it grows with the
    index), through updates, deletions, merges and a rebuild's several segments."""
    from whoosh.reading import SegmentReader

    from archive.search import whoosh_backend

    for start in range(1, 30, 7):
        whoosh.upsert([_entry(i, f"第{i}号供用电合同") for i in range(start, start + 7)])
    whoosh.upsert([_entry(3, "更正后的合同", fingerprint="g3")])
    whoosh.delete([5, 20])
    expected = {i: f"f{i}" for i in range(1, 36) if i not in (5, 20)} | {3: "g3"}

    def refuse(*args, **kwargs):
        raise AssertionError("stored fields read for fingerprints")

    with monkeypatch.context() as patched:
        patched.setattr(SegmentReader, "stored_fields", refuse)
        patched.setattr(SegmentReader, "all_stored_fields", refuse)
        assert sorted(whoosh.fingerprints()) == sorted(expected.items())

    monkeypatch.setattr(whoosh_backend, "REBUILD_SEGMENT_POSTINGS", 40)
    with whoosh.rebuild() as fresh:
        for i in range(1, 9):
            fresh.upsert([_entry(i, "停电通知单与计量装置封印")], replace=False)
    assert len(whoosh._searcher().reader().leaf_readers()) >= 2
    with monkeypatch.context() as patched:
        patched.setattr(SegmentReader, "stored_fields", refuse)
        patched.setattr(SegmentReader, "all_stored_fields", refuse)
        assert sorted(whoosh.fingerprints()) == [(i, f"f{i}") for i in range(1, 9)]


def test_fingerprints_of_an_index_written_before_the_fingerprint_column(tmp_path):
    """An index whose schema has no fingerprint column is still written and verified (stored fields)."""
    from whoosh import index as whoosh_index

    from archive.search.whoosh_backend import FINGERPRINT_KEY, make_schema

    schema = make_schema()
    schema.remove(FINGERPRINT_KEY)
    generation = tmp_path / "index" / "gen-1"
    generation.mkdir(parents=True)
    whoosh_index.create_in(str(generation), schema)
    (tmp_path / "index" / "CURRENT").write_text("gen-1")
    backend = WhooshBackend(tmp_path / "index", lock_timeout=5)
    backend.upsert([_entry(1, "停电通知"), _entry(2, "供用电合同")])
    backend.upsert([_entry(2, "供用电合同", fingerprint="g2")])
    assert sorted(backend.fingerprints()) == [(1, "f1"), (2, "g2")]
    assert backend.search(SearchQuery(q="停电")).total == 1


def test_segment_files_are_read_from_the_memory_map_without_a_copy(whoosh):
    """Opening a searcher must not copy the segments' postings into the process (Whoosh's BufferFile copied
    every file of a compound segment: 2.3 GB a process at 100,000 documents)."""
    import random
    import tracemalloc

    from archive.samples import chinese_text
    from archive.search import fast

    rng = random.Random(5)
    with whoosh.rebuild() as fresh:
        fresh.upsert([_entry(i, chinese_text(rng, 1500)) for i in range(1, 301)], replace=False)
    segment_bytes = sum(p.stat().st_size for p in whoosh._live_dir().glob("*.seg"))
    assert segment_bytes > 2_000_000
    assert whoosh.search(SearchQuery(q="电费")).total > 0  # imports and caches before measuring
    tracemalloc.start()
    try:
        with whoosh._open().searcher() as searcher:
            (reader,) = [r for r, _ in searcher.reader().leaf_readers()]
            docnums, _weights = fast._postings(reader, "text", "电费")
            assert len(docnums) > 200
        assert len(dict(whoosh.fingerprints())) == 300  # opens another searcher
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < segment_bytes / 10, (peak, segment_bytes)


def test_a_view_file_reads_like_bytesio():
    import io

    from archive.search.whoosh_backend import _ViewFile

    data = b"first line\nsecond\n\nlast without newline" * 300
    view, plain = _ViewFile(memoryview(data)), io.BytesIO(data)
    for step in range(40):
        for f in (view, plain):
            f.seek(step * 97 % len(data))
        assert view.read(step * 13) == plain.read(step * 13)
        assert view.readline() == plain.readline()
        assert view.readline(5) == plain.readline(5)
        assert view.tell() == plain.tell()
        buffer_a, buffer_b = bytearray(11), bytearray(11)
        assert view.readinto(buffer_a) == plain.readinto(buffer_b) and buffer_a == buffer_b
    assert view.seek(-4, io.SEEK_END) == plain.seek(-4, io.SEEK_END)
    assert view.read() == plain.read() and view.read(3) == plain.read(3) == b""
    view.seek(len(data) + 50)
    assert view.read(1) == b"" and view.readline() == b""


def test_an_account_number_beside_words_finds_that_accounts_documents_with_the_words(
    app_search, client, world, session
):
    from tests.support import make_account

    make_account(session, "1000000002", world.unit_a)
    session.commit()
    token = world.token("archivist")
    for account_no, body in [
        ("1000000001", "双方签订供用电合同。"),
        ("1000000001", "停电通知单。"),
        ("1000000002", "另一户也签订了。"),
    ]:
        open_dossier(client, token, account_no)
        assert file_via_api(client, token, account_no, pdf_bytes(body)).status_code == 201
    supervisor = world.headers("supervisor")
    body = client.get("/api/v1/archive/search?q=1000000001 签订", headers=supervisor).get_json()
    assert [i["account_no"] for i in body["items"]] == ["1000000001"]
    assert '<mark class="hit">签订</mark>' in body["items"][0]["highlight"]
    assert body["total"] == 1 and body["account_from_query"] == "1000000001"
    assert client.get("/api/v1/archive/search?q=签订 1000000002", headers=supervisor).get_json()["total"] == 1
    only = client.get("/api/v1/archive/search?q=1000000001", headers=supervisor).get_json()
    assert only["total"] == 2  # the account's documents, newest first
    # another unit's account is not the caller's: the number stays a word, and no document has it
    foreign = client.get("/api/v1/archive/search?q=2000000001 签订", headers=supervisor).get_json()
    assert (foreign["total"], foreign["account_from_query"]) == (0, None)


def test_snippets_come_from_the_page_that_matched_and_mark_codes_as_written(backend):
    pages = ["第一页 封面 合同。", "第二页 供用电合同 正文。", "第三页 合同编号FY-88123，附件说明。"]
    backend.upsert([_entry(1, "\f".join(pages))])
    for q in ("FY-88123", "fy-88123"):
        (hit,) = backend.search(SearchQuery(q=q)).items
        assert (hit.highlight, hit.page) == ('第三页 合同编号<mark class="hit">FY-88123</mark>，附件说明。', 3)
    (hit,) = backend.search(SearchQuery(q="合同 附件")).items
    assert hit.page == 3  # the page with most of the words, not the first that has one
    assert hit.highlight == '第三页 <mark class="hit">合同</mark>编号FY-88123，<mark class="hit">附件</mark>说明。'
