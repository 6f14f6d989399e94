"""The PostgreSQL search backend: its tsvector and tsquery come from our own tokens, it answers what the Whoosh
backend answers, its plans use the GIN index, and its writes belong to the caller's transaction."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest

from archive.interfaces import IndexEntry, SearchQuery
from archive.samples import chinese_text
from archive.search.postgres_backend import PostgresBackend, terms_of
from core.errors import DomainError
from tests.archive.conftest import require_postgres


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


def _no_database() -> PostgresBackend:
    def refuse():  # type: ignore[no-untyped-def]
        raise AssertionError("no database needed here")

    return PostgresBackend(engine=refuse)


@pytest.fixture
def postgres(app) -> PostgresBackend:  # type: ignore[no-untyped-def]
    require_postgres()
    backend = PostgresBackend()
    backend.clear()
    return backend


def test_the_tsvector_holds_our_tokens_with_positions_and_field_weights():
    entry = _entry(1, "签订供用电合同，停电通知。", title="供用电合同", holder_name="张伟")
    lexemes = dict(part.split(":", 1) for part in terms_of(entry).split(" "))
    # title words are A, the holder's name B, the text's words D (no letter); the words inside a long word are C,
    # at the long word's position; each field starts after a gap, so no phrase joins two fields
    assert lexemes["'供用电'"] == "1A,7" and lexemes["'用电'"] == "1C,7C" and lexemes["'合同'"] == "2A,8"
    assert lexemes["'张伟'"] == "4B" and lexemes["'签订'"] == "6"
    assert lexemes["'停电通知'"] == "9" and lexemes["'停电'"] == "9C" and lexemes["'通知'"] == "9C"
    quoted = terms_of(_entry(2, "it's a back\\slash"))
    assert "'it'':" not in quoted and all("\\" not in part or "\\\\" in part for part in quoted.split(" "))


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("合同", "('合同')"),  # a word in any field, also inside a longer word
        ('"供用电合同"', "(('供用电':ABD <-> '合同':ABD))"),  # a phrase of whole words, in one field
        ("供用电 合同", "(('供用电') & ('合同'))"),
        ("合同 OR 停电", "('合同' | '停电')"),
        ("合同 NOT 停电", "(('合同') & !('停电'))"),
        ("电费 ANDNOT 检修", "(('电费') & !('检修'))"),
        ("结算*", "('结算':*)"),
        ('"供用电合同"~2', "(('供用电' & '合同'))"),  # slop: all the words, as on Whoosh
        ("title:合同", "'合同':A"),
    ],
)
def test_queries_become_tsqueries_of_our_own_tokens(words, expected):
    assert _no_database().tsquery(words)[0] == expected


def test_a_query_on_a_field_the_index_cannot_search_is_refused():
    with pytest.raises(DomainError) as refused:
        _no_database().tsquery("doc_type:outage_notice")
    assert refused.value.code == "bad_query"


def test_a_rolled_back_transaction_leaves_no_index_entry(postgres):
    from core.db import db

    session = db.new_session()
    try:
        postgres.upsert([_entry(1, "停电通知")], session=session)
        assert postgres.search(SearchQuery(q="停电")).total == 0  # not committed: nobody sees it
        session.rollback()
        assert postgres.search(SearchQuery(q="停电")).total == 0
        postgres.upsert([_entry(1, "停电通知")], session=session)
        session.commit()
        assert postgres.search(SearchQuery(q="停电")).total == 1
        postgres.delete([1], session=session)
        session.rollback()
        assert postgres.search(SearchQuery(q="停电")).total == 1
    finally:
        session.close()


def test_a_rebuild_swaps_in_only_after_the_writers_in_flight_commit(postgres):
    """A writer of the live generation holds it until its transaction ends: the swap waits, so a write made
    during the rebuild is in the live generation the catch-up compares, never lost in one being dropped."""
    from core.db import db

    postgres.upsert([_entry(1, "旧的停电通知")])
    writer = db.new_session()
    swapped = threading.Event()
    failures: list[BaseException] = []

    def rebuild() -> None:
        try:
            with postgres.rebuild() as fresh:
                fresh.upsert([_entry(1, "旧的停电通知")], replace=False)
            swapped.set()
        except BaseException as exc:  # reported below
            failures.append(exc)

    try:
        postgres.upsert([_entry(2, "重建期间归档的停电通知")], session=writer)  # a task in flight
        thread = threading.Thread(target=rebuild)
        thread.start()
        assert not swapped.wait(0.5)  # the swap waits for the writer
        writer.commit()
        thread.join(timeout=30)
    finally:
        writer.close()
    assert not failures and swapped.is_set()
    assert sorted(i for i, _ in postgres.fingerprints()) == [1]  # entry 2 went to the old generation: caught up later
    postgres.upsert([_entry(2, "重建期间归档的停电通知")])
    assert sorted(i for i, _ in postgres.fingerprints()) == [1, 2]


def _stored_rows(generation: int) -> list[tuple[object, ...]]:
    from sqlalchemy import text

    from core.db import db

    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT document_id, account_no, holder_name, unit_path, doc_type, title, text, formed_on, filed_on,"
                " fingerprint, terms::text FROM search_entries WHERE generation = :g ORDER BY document_id"
            ),
            {"g": generation},
        )
        return [tuple(row) for row in rows]


def _live_generation() -> int:
    from sqlalchemy import text

    from core.db import db

    with db.engine.connect() as connection:
        return int(connection.scalar(text("SELECT live_generation FROM search_index_state WHERE id = 1")))


def test_a_rebuilds_copy_writes_exactly_what_an_upsert_writes(postgres):
    entries = [
        _entry(1, "签订供用电合同，停电通知。", title="供用电合同"),
        _entry(2, "it's a back\\slash, tab\there\nand a new line", holder_name="O'Brien"),
        _entry(3, "停电检修" * 5000, formed_on=dt.date(1999, 12, 31)),  # positions past the last one tsvector keeps
    ]
    postgres.upsert(entries)  # the live generation, by INSERT ... ON CONFLICT
    inserted = _stored_rows(_live_generation())
    with postgres.rebuild() as fresh:
        fresh.upsert(entries, replace=False)  # by COPY
    assert _stored_rows(_live_generation()) == inserted and len(inserted) == 3


def _settings() -> list[str]:
    from sqlalchemy import text

    from core.db import db

    with db.engine.connect() as connection:
        names = ("gin_pending_list_limit", "work_mem", "synchronous_commit")
        return [str(connection.scalar(text("SELECT current_setting(:name)"), {"name": name})) for name in names]


def test_a_failed_copy_leaves_the_live_generation_untouched_and_the_settings_local(postgres):
    postgres.upsert([_entry(1, "旧的停电通知")])
    live, settings = _live_generation(), _settings()
    with pytest.raises(Exception, match="duplicate key"), postgres.rebuild() as fresh:
        fresh.upsert([_entry(5, "新的停电通知")], replace=False)
        fresh.upsert([_entry(5, "新的停电通知")], replace=False)  # already in this generation: COPY fails
    assert _live_generation() == live and [i for i, _ in postgres.fingerprints()] == [1]
    assert postgres.search(SearchQuery(q="旧的")).total == 1
    assert _settings() == settings  # a rebuild's settings end with its own transactions


def _corpus(count: int, seed: int = 7) -> list[IndexEntry]:
    rng = random.Random(seed)
    return [
        _entry(
            i,
            chinese_text(rng, 300),
            title=rng.choice(["供用电合同", "停电通知单", "用电检查单", "违约金减免审批"]),
            holder_name=rng.choice(["张伟", "王芳", "杭州明辉纺织有限公司"]),
            doc_type=rng.choice(["outage_notice", "power_supply_contract"]),
            unit_path=rng.choice(["/1/2/", "/1/3/", "/1/2/5/"]),
            formed_on=dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 1500)),
        )
        for i in range(1, count + 1)
    ]


QUERIES = [
    "合同",
    "停电 检修",
    "违约金",
    "欠缴 电费 合同",
    "合同 OR 停电",
    "合同 NOT 停电",
    "电费 ANDNOT 检修",
    '"供用电合同"',
    '"计量装置封印"',
    '"电费违约金"',
    '"供用电合同" NOT 停电',
    "用电",  # inside longer words (供用电, 用电检查)
    "纺织",  # the holder's name
    "结算*",
    "张伟 停电",
]


def test_postgres_answers_what_whoosh_answers(postgres, whoosh):
    """The same documents and queries, with and without filters: the same documents, totals and highlights."""
    entries = _corpus(150)
    for backend in (postgres, whoosh):
        backend.upsert(entries[:80])
        backend.upsert(entries[80:])
    filters: list[dict[str, object]] = [
        {},
        {"doc_type": "outage_notice"},
        {"unit_path": "/1/2/"},
        {"date_from": dt.date(2021, 1, 1), "date_to": dt.date(2022, 6, 30)},
    ]
    compared = 0
    for words in QUERIES:
        for extra in filters:
            query = SearchQuery(q=words, per_page=500, **extra)  # type: ignore[arg-type]
            ours, theirs = postgres.search(query), whoosh.search(query)
            assert ours.total == theirs.total, (words, extra)
            assert {h.document_id: h.highlight for h in ours.items} == {
                h.document_id: h.highlight for h in theirs.items
            }, (words, extra)
            compared += ours.total
    assert compared > 500  # the queries found plenty to compare


def test_results_are_ranked_with_title_words_first_and_paged_stably(postgres):
    postgres.upsert(
        [
            _entry(1, "本单据记录一次计量装置检查。", title="用电检查单"),
            _entry(2, "线路检修，计划停电。", title="停电通知单"),
            *[_entry(i, "停电检修安排如下。", title="检修计划") for i in range(3, 9)],
        ]
    )
    ranked = postgres.search(SearchQuery(q="停电", per_page=3))
    assert ranked.total == 7 and ranked.items[0].document_id == 2  # in the title as well as the text
    pages = [postgres.search(SearchQuery(q="停电", page=p, per_page=3)).items for p in (1, 2, 3)]
    assert [h.document_id for page in pages for h in page] == [2, 3, 4, 5, 6, 7, 8]  # ties in document order
    assert postgres.search(SearchQuery(q="停电", page=9, per_page=3)).total == 7


def test_beyond_the_ranked_candidates_the_total_is_the_planners_estimate(postgres):
    postgres.upsert([_entry(i, "停电检修安排如下。", title="检修计划") for i in range(1, 41)])
    postgres.upsert([_entry(41, "线路检修，计划停电。", title="停电通知单")])
    postgres.tidy()  # analysed: the planner knows how often the word occurs
    exact = postgres.search(SearchQuery(q="停电", per_page=3))
    assert exact.total == 41 and exact.items[0].document_id == 41
    postgres.rank_candidates = 10
    capped = postgres.search(SearchQuery(q="停电", per_page=3))
    assert len(capped.items) == 3 and 10 <= capped.total <= 60  # ten ranked; the total estimated, not counted
    assert postgres.search(SearchQuery(q="停电", page=5, per_page=3)).items == []  # pages end with the candidates
    assert postgres.search(SearchQuery(q="安排 停电", per_page=50)).total >= 10


def test_searches_use_the_gin_index(postgres):
    corpus = _corpus(3000, seed=11)
    rare = [_entry(i, "配电变压器烧毁，更换变压器后恢复供电。", title="事故处理工作单") for i in range(3001, 3006)]
    with postgres.rebuild() as fresh:  # as archive reindex writes: then the pending entries are tidied away
        fresh.upsert(corpus + rare, replace=False)
    for words in ("烧毁", '"配电变压器烧毁"', "烧毁 恢复供电", "烧毁 OR 配电变压器"):
        plan = postgres.explain(SearchQuery(q=words, unit_path="/1/"))
        assert "Bitmap Index Scan on ix_search_entries_terms" in plan, plan
    assert postgres.search(SearchQuery(q='"变压器烧毁"', unit_path="/1/")).total == 5


def test_health_names_the_backend_and_estimates_its_size(postgres):
    postgres.upsert([_entry(i, "停电通知") for i in range(1, 4)])
    health = postgres.health()
    assert health["ok"] is True and health["backend"] == "postgres"
    postgres.tidy()  # analysed: the estimate is the planner's
    assert postgres.health()["documents_estimate"] == 3
