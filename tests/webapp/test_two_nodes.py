"""Two GridDesk nodes sharing one PostgreSQL, Redis, the PostgreSQL search backend and an S3-API store.

Each node is a gunicorn web process and a Celery worker with its own instance folder (nothing shared on disk): a
document filed through node A is found by a search on node B and its file served by B; a payment posted on A is
seen on B; after node A is killed (web and worker, SIGKILL) nothing it accepted is lost, and a client retrying
A's payment on B gets the same payment, not a second one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.archive.helpers import FIELDS, pdf_bytes
from tests.support import S3_BUCKET

pytestmark = [pytest.mark.service]

ROOT = Path(__file__).resolve().parents[2]
# The cluster's own Redis database: the suite's single worker (tests/service.py) consumes base + worker number
# with the test app's settings (Whoosh, local files) and must never take the cluster's tasks.
CLUSTER_REDIS_DB = int(os.environ.get("TEST_REDIS_CLUSTER_DB", "15"))
DEADLINE = 60.0
REQUIRE_SERVICES = os.environ.get("GRIDDESK_REQUIRE_SERVICES") == "1"


@dataclass
class Node:
    name: str
    url: str
    web: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]

    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [self.web, self.worker]

    def kill(self) -> None:
        for process in self.processes():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(condition: Callable[[], Any], what: str, nodes: list[Node]) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        for node in nodes:
            for process in node.processes():
                if process.poll() is not None:
                    pytest.fail(f"{node.name}: {process.args[2:4]} exited with {process.returncode}")
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"waited {DEADLINE:.0f} s for {what}")


def _start_node(name: str, env: dict[str, str], log_dir: Path) -> Node:
    port = _free_port()
    log = (log_dir / f"{name}.log").open("wb")
    spawn = {"cwd": ROOT, "stdout": log, "stderr": subprocess.STDOUT, "start_new_session": True}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "1", "--threads", "2"]
        + ["-b", f"127.0.0.1:{port}", "--no-control-socket", "webapp:create_app()"],
        env=env,
        **spawn,  # type: ignore[arg-type]
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "webapp.worker:celery", "worker", "-c", "1", "--loglevel", "WARNING"]
        + ["-n", f"{name}@%h", "-Q", f"celery,{name}", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env,
        **spawn,  # type: ignore[arg-type]
    )
    return Node(name, f"http://127.0.0.1:{port}", web, worker)


def _answers(node: Node) -> bool:
    try:
        return requests.get(f"{node.url}/healthz", timeout=10).status_code in (200, 503)
    except requests.RequestException:  # not listening yet
        return False


def _pong(client: Any, node: Node) -> bool:
    """Each worker also takes a queue of its own: a ping sent there is answered by that worker alone (and is lost
    while the worker has not yet bound its queue, hence the short wait and the retries)."""
    from celery.exceptions import TimeoutError as NoAnswer

    try:
        return bool(client.send_task("griddesk.ping", queue=node.name).get(timeout=1) == "pong")
    except NoAnswer:
        return False


@pytest.fixture
def cluster(app, world, s3_endpoint, tmp_path, monkeypatch) -> Iterator[tuple[Node, Node, Any]]:  # type: ignore[no-untyped-def]
    if not app.config["DATABASE_URL"].startswith("postgresql") or not os.environ.get("TEST_REDIS_URL"):
        message = "the two-node test needs PostgreSQL and Redis (make test-postgres)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    import redis
    from celery import Celery

    broker = f"{os.environ['TEST_REDIS_URL'].rstrip('/')}/{CLUSTER_REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    shared = {
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SEARCH_BACKEND": "postgres",
        "BLOB_STORE": "s3",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_BUCKET": S3_BUCKET,
        "S3_ACCESS_KEY_ID": "test",
        "S3_SECRET_ACCESS_KEY": "test",
        "S3_REGION": "us-east-1",
        "S3_PREFIX": f"cluster-{uuid.uuid4().hex[:12]}",
        "S3_ADDRESSING_STYLE": "path",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OUTBOX_KICK_SECONDS": "0",
    }
    nodes: list[Node] = []
    try:
        for name in ("node-a", "node-b"):
            own = tmp_path / name  # each node's own disk: instance folder, Whoosh folder, local blobs (all unused)
            env = {
                **os.environ,
                **shared,
                "GRIDDESK_INSTANCE": str(own),
                "BLOB_DIR": str(own / "blobs"),
                "SEARCH_INDEX_DIR": str(own / "search"),
            }
            nodes.append(_start_node(name, env, tmp_path))
        # Celery prefers these variables to the broker and backend given to it (they name the suite's own Redis)
        monkeypatch.setenv("CELERY_BROKER_URL", broker)
        monkeypatch.setenv("CELERY_RESULT_BACKEND", broker)
        client = Celery(broker=broker, backend=broker)
        for node in nodes:
            _wait_for(lambda node=node: _answers(node), f"{node.name}'s web process", nodes)  # type: ignore[misc]
            _wait_for(lambda node=node: _pong(client, node), f"{node.name}'s worker", nodes)  # type: ignore[misc]
        yield nodes[0], nodes[1], client
    finally:
        for node in nodes:
            node.kill()


def _bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def _file(node: Node, token: str, account_no: str, content: bytes, title: str) -> int:
    reply = requests.post(
        f"{node.url}/api/v1/archive/dossiers/{account_no}/documents",
        data={**FIELDS, "title": title},
        files={"file": ("合同.pdf", content, "application/pdf")},
        headers=_bearer(token),
        timeout=30,
    )
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


def _found(node: Node, token: str, word: str) -> set[int]:
    reply = requests.get(f"{node.url}/api/v1/archive/search", params={"q": word}, headers=_bearer(token), timeout=10)
    assert reply.status_code == 200, reply.text
    return {int(item["document_id"]) for item in reply.json()["items"]}


def _pay(node: Node, token: str, account_no: str, key: str) -> dict[str, Any]:
    reply = requests.post(
        f"{node.url}/api/v1/payments",
        json={"account_no": account_no, "amount": "88.00", "channel": "counter", "reference": "TWO-NODES-1"},
        headers=_bearer(token, **{"Idempotency-Key": key}),
        timeout=10,
    )
    assert reply.status_code in (200, 201), reply.text
    return dict(reply.json())


def _payments(node: Node, token: str, account_no: str) -> list[dict[str, Any]]:
    reply = requests.get(f"{node.url}/api/v1/accounts/{account_no}/payments", headers=_bearer(token), timeout=10)
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def test_what_node_a_does_node_b_sees_and_killing_a_loses_nothing(cluster, world) -> None:  # type: ignore[no-untyped-def]
    node_a, node_b, tasks = cluster
    archivist, clerk = world.token("archivist"), world.token("clerk")
    account_no = world.own_account.account_no

    opened = requests.post(
        f"{node_a.url}/api/v1/archive/dossiers", json={"account_no": account_no}, headers=_bearer(archivist), timeout=10
    )
    assert opened.status_code == 201, opened.text

    # filed through A (its blob in the S3 store, indexed by whichever worker takes the task), found and served by B
    first = pdf_bytes("供用电合同甲节点归档，户号1000000001。")
    first_id = _file(node_a, archivist, account_no, first, "甲节点归档")
    _wait_for(lambda: first_id in _found(node_b, archivist, "甲节点归档"), "B to find A's document", [node_a, node_b])
    served = requests.get(f"{node_b.url}/api/v1/archive/documents/{first_id}/content", headers=_bearer(archivist))
    assert served.status_code == 200 and served.content == first

    # a payment posted on A is seen on B
    paid = _pay(node_a, clerk, account_no, "two-nodes-pay-1")
    assert [p["id"] for p in _payments(node_b, clerk, account_no)] == [paid["id"]]
    summary = requests.get(f"{node_b.url}/api/v1/accounts/{account_no}", headers=_bearer(clerk), timeout=10).json()
    assert summary["balance"] == "88.00"

    # A files one more document and dies at once (web and worker): what it accepted is not lost
    second = pdf_bytes("临终归档的竣工资料，户号1000000001。")
    second_id = _file(node_a, archivist, account_no, second, "临终归档")
    node_a.kill()

    # the client retries A's payment on B: the same payment, not a second one
    again = _pay(node_b, clerk, account_no, "two-nodes-pay-1")
    assert again["id"] == paid["id"]
    assert len(_payments(node_b, clerk, account_no)) == 1

    # B keeps working; its next filing's relay also takes whatever A's worker left undone
    third_id = _file(node_b, archivist, account_no, pdf_bytes("乙节点接续归档，户号1000000001。"), "接续归档")
    _wait_for(lambda: third_id in _found(node_b, archivist, "接续归档"), "B to index its own document", [node_b])
    # an indexing task A's worker had taken died with it (unacknowledged, Redis gives it back only after its
    # visibility timeout): beat's sweep sends it again once the document has waited (600 s); here at once
    tasks.send_task("archive.requeue_stale_documents", kwargs={"older_than_seconds": 0}, queue=node_b.name)
    _wait_for(lambda: second_id in _found(node_b, archivist, "临终归档"), "A's last document to be indexed", [node_b])
    served = requests.get(f"{node_b.url}/api/v1/archive/documents/{second_id}/content", headers=_bearer(archivist))
    assert served.status_code == 200 and served.content == second
    dossier = requests.get(f"{node_b.url}/api/v1/archive/dossiers/{account_no}", headers=_bearer(archivist)).json()
    assert [d["id"] for d in dossier["documents"]] == [first_id, second_id, third_id]
    assert [(d["page_from"], d["page_to"]) for d in dossier["documents"]] == [(1, 1), (2, 2), (3, 3)]
