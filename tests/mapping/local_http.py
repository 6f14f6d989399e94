"""Small local HTTP servers for tests, on 127.0.0.1 ports 5300-5399 only."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTS = range(5300, 5400)


def free_port() -> int:
    """A port in the allowed range nobody listens on (a dead service for fallback tests)."""
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 5300-5399")


Handler = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], bytes]]


@contextmanager
def serve(handle: Handler) -> Iterator[tuple[str, list[dict[str, object]]]]:
    """Serve ``handle(request, body) -> (status, headers, body)``; yields (base URL, request log)."""
    log: list[dict[str, object]] = []

    class _Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            log.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
            status, headers, payload = handle(self, body)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _any

        def log_message(self, *args: object) -> None:
            pass

    server = None
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
            break
        except OSError:
            continue
    if server is None:
        raise RuntimeError("no free port in 5300-5399")
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
