"""``make run``: a Celery worker (with beat) on the embedded transport plus the Flask server; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from webapp import create_app
from webapp.serving import RequestHandler


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Explicit handlers: a process started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    app = create_app()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "webapp.worker:celery",
            "worker",
            "-B",
            "-c",
            "2",
            "--loglevel",
            "INFO",
            "-s",
            os.path.join(app.config["INSTANCE_DIR"], "celerybeat-schedule"),
        ],
    )
    print(f"GridDesk on http://{host}:{port}/  (Celery worker pid {worker.pid}; Ctrl-C stops both)", flush=True)
    try:
        app.run(host=host, port=port, use_reloader=False, threaded=True, request_handler=RequestHandler)
    except KeyboardInterrupt:
        pass
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
