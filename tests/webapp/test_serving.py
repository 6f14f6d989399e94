"""The servers name no software or version in ``Server``: the dev server (``make run``) and gunicorn."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

from tests.mapping.local_http import free_port
from webapp.serving import SERVER_HEADER, RequestHandler

ROOT = Path(__file__).resolve().parents[2]


def _server_headers(port: int, path: str = "/login") -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return [value for name, value in response.getheaders() if name.lower() == "server"]
    finally:
        connection.close()


def test_the_dev_server_names_no_software_or_version(app) -> None:
    server = make_server("127.0.0.1", free_port(), app, threaded=True, request_handler=RequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert _server_headers(server.server_port) == [SERVER_HEADER]
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_gunicorn_with_the_project_settings_names_no_software_or_version(app) -> None:
    # the socket is bound here and handed over (fd://), so no other test can take the port while gunicorn starts
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen(16)
    port = listener.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"fd://{listener.fileno()}", "webapp:create_app()"],
        cwd=ROOT,  # gunicorn reads ./gunicorn.conf.py
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(listener.fileno(),),
    )
    listener.close()
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                headers = _server_headers(port)
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        assert headers == [SERVER_HEADER]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_a_gunicorn_worker_freezes_the_apps_objects_once_it_has_loaded_the_app() -> None:
    """Objects made while loading the app are kept out of every later full garbage collection."""
    import gc
    import runpy

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
