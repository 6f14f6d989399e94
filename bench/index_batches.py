"""Incremental indexing benchmark: documents filed one after another into a live Whoosh index, indexed in batches as
the archive's index task writes them (``archive.index_documents``: the documents filed together, one index write),
against one write per document (how each filing was indexed before; the reference, measured in the same run).

    .venv/bin/python -m bench.index_batches               # 200 new documents on an index of 2,000 (under a minute)
    .venv/bin/python -m bench.index_batches --base 20000 --documents 500

Each way starts from its own copy of the same base index. Prints docs/s for each, the ratio, and the number of
segments each way left behind.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import tempfile
import time
from pathlib import Path

from archive.interfaces import IndexEntry
from archive.search.whoosh_backend import WhooshBackend
from archive.tasks import INDEX_BATCH
from bench.archive import documents


def _index(root: Path, entries: list[IndexEntry], batch: int) -> tuple[float, int]:
    """Seconds to upsert ``entries`` ``batch`` at a time into the index at ``root``, and the segments left."""
    backend = WhooshBackend(root)
    start = time.perf_counter()
    for first in range(0, len(entries), batch):
        backend.upsert(entries[first : first + batch])
    seconds = time.perf_counter() - start
    return seconds, len(backend._searcher().reader().leaf_readers())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=int, default=2000, help="documents already in the index (default 2000)")
    parser.add_argument("-n", "--documents", type=int, default=200, help="documents filed and indexed (default 200)")
    parser.add_argument("--batch", type=int, default=INDEX_BATCH, help=f"documents a write (default {INDEX_BATCH})")
    args = parser.parse_args()
    generated = documents(args.base + args.documents)
    base = list(itertools.islice(generated, args.base))
    new = list(generated)
    with tempfile.TemporaryDirectory(prefix="griddesk-bench-") as tmp:
        seed = Path(tmp) / "seed"
        with WhooshBackend(seed).rebuild() as fresh:
            fresh.upsert(base, replace=False)
        results: dict[str, float] = {}
        for label, batch in (("one write a document", 1), (f"batches of {args.batch}", args.batch)):
            copy = Path(tmp) / f"batch-{batch}"
            shutil.copytree(seed, copy)
            seconds, segments = _index(copy, new, batch)
            results[label] = args.documents / seconds
            print(f"{label:22} {args.documents / seconds:8.1f} docs/s  ({seconds:.1f} s, {segments} segments)")
    reference, batched = results.values()
    print(
        f"ratio batched/one write a document: {batched / reference:.1f}x "
        f"({args.documents} documents onto an index of {args.base})"
    )


if __name__ == "__main__":
    main()
