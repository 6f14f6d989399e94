"""The real ``griddesk archive reindex`` and ``archive verify`` commands on a generated SQLite database: wall
time and peak resident memory of each command's process.

    .venv/bin/python -m bench.archive_reindex -n 20000      # about two minutes
    .venv/bin/python -m bench.archive_reindex -n 100000     # the issue's size (reindex memory < 1 GiB)

Documents get generated text stored in ``document_texts`` (what a reindex reuses instead of extracting again),
the same generator and sizes as ``bench/archive.py``; they all share one blob (content-addressed storage keeps
it once), so verify hashes one file and the figures are the index's and the database's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import shutil
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ACCOUNTS = 500
DOC_TYPES = ["power_supply_contract", "inspection_sheet", "outage_notice", "late_fee_waiver", "new_install_work_order"]
TITLES = ["供用电合同", "用电检查单", "停电通知单", "违约金减免审批"]


def populate(n: int, seed: int = 11) -> None:
    """``n`` documents with stored text in ``ACCOUNTS`` dossiers, written with Core inserts."""
    from sqlalchemy import insert

    from archive.models import Document, DocumentText, Dossier
    from archive.registry import blob_store
    from archive.samples import chinese_text, text_pdf
    from billing.models import Account
    from core.db import db
    from core.identity import ensure_root_unit
    from webapp import create_app
    from webapp.models import load_all

    app = create_app()
    with app.app_context():
        assert db.engine is not None
        load_all().metadata.create_all(db.engine)
        sha, _created = blob_store().put(io.BytesIO(text_pdf("供用电合同", "本合同由供电人与用电人签订。")))
        rng = random.Random(seed)
        now = dt.datetime.now(dt.UTC)
        with db.transaction() as session:
            unit_id = ensure_root_unit(session).id
            accounts = [
                {
                    "account_no": f"33010{i:05d}",
                    "holder_name": rng.choice(["张伟", "王芳", "杭州明辉纺织有限公司"]),
                    "id_last4_hash": "x",
                    "category": "residential",
                    "capacity_kva": Decimal(8),
                    "tariff_code": "ZJ-RES-TIER",
                    "unit_id": unit_id,
                    "status": "active",
                    "meter_multiplier": Decimal(1),
                    "balance": Decimal("0.00"),
                    "address": "",
                }
                for i in range(ACCOUNTS)
            ]
            session.execute(insert(Account), accounts)
            session.execute(
                insert(Dossier),
                [
                    {
                        "account_no": a["account_no"],
                        "archive_code": f"BENCH-{a['account_no']}",
                        "title": f"{a['holder_name']}用电档案",
                        "filing_unit_id": unit_id,
                    }
                    for a in accounts
                ],
            )
        for start in range(1, n + 1, 5000):
            ids = range(start, min(n, start + 4999) + 1)
            documents, texts = [], []
            for i in ids:
                account = (i - 1) % ACCOUNTS
                documents.append(
                    {
                        "id": i,
                        "dossier_id": account + 1,
                        "account_no": f"33010{account:05d}",
                        "doc_type": rng.choice(DOC_TYPES),
                        "title": f"第{i}号{rng.choice(TITLES)}",
                        "responsible_unit": "湖滨供电所",
                        "formed_on": dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 4000)),
                        "filed_at": now,
                        "writing_material": "print",
                        "paper_size": "A4",
                        "pages": 1,
                        "sha256": sha,
                        "content_type": "application/pdf",
                        "original_name": "合同.pdf",
                        "size_bytes": 1000,
                        "index_status": "indexed",
                    }
                )
                size = max(500, min(3000, int(rng.gauss(1500, 500))))
                texts.append({"document_id": i, "sha256": sha, "method": "pdf_text", "text": chinese_text(rng, size)})
            with db.transaction() as session:
                session.execute(insert(Document), documents)
                session.execute(insert(DocumentText), texts)
            print(f"  {ids[-1]} documents in the database", end="\r", flush=True)
        print()


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak resident MiB, summary lines) of one command: the child's own rusage (``os.wait4``),
    what ``/usr/bin/time -v`` reports as its maximum resident set size."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        child = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        output.seek(0)
        printed = output.read()
    if child.returncode not in (0, 1):  # verify exits 1 when it finds problems: still a measurement
        raise SystemExit(f"{' '.join(command)} failed:\n{printed[-3000:]}")
    lines = [line for line in printed.splitlines() if line.startswith(("indexed", "checked", "documents caught"))]
    return wall, usage.ru_maxrss / 1024, "; ".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--documents", type=int, default=20000, help="number of documents (default 20000)")
    parser.add_argument("--batch", type=int, default=200, help="reindex --batch (the command's default: 200)")
    parser.add_argument("--keep", type=Path, help="use (and keep) this instance folder instead of a temporary one")
    parser.add_argument("--populate-only", action="store_true", help="write the database (with --keep) and stop")
    args = parser.parse_args()
    instance = args.keep or Path(tempfile.mkdtemp(prefix="griddesk-reindex-"))
    instance.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GRIDDESK_INSTANCE": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'griddesk.db'}"}
    os.environ.update(env)
    if not (instance / "griddesk.db").exists():
        started = time.perf_counter()
        populate(args.documents)
        print(f"database with {args.documents} documents written in {time.perf_counter() - started:.0f} s", flush=True)
    if args.populate_only:
        return
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "webapp", "griddesk", "archive"]
    with open("/proc/loadavg") as handle:
        print(f"load average before: {' '.join(handle.read().split()[:3])}", flush=True)
    wall, rss, out = measured([*flask, "reindex", "--batch", str(args.batch)], env)
    print(f"reindex: {out}; {wall:.0f} s wall, {args.documents / wall:.0f} docs/s end to end, peak RSS {rss:.0f} MiB")
    wall, rss, out = measured([*flask, "verify"], env)
    print(f"verify: {out}; {wall:.0f} s wall, peak RSS {rss:.0f} MiB")
    with open("/proc/loadavg") as handle:
        print(f"load average after: {' '.join(handle.read().split()[:3])}", flush=True)
    if args.keep is None:
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
