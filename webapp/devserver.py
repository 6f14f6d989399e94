"""``make run``: the Flask server, a Celery worker and celery beat on the embedded transport; Ctrl-C stops all.

The worker and beat are separate processes that this one supervises: one that dies is started again (beat is
no child of the worker, so killing the worker leaves no orphaned beat behind), and both die with this process,
even when it is killed outright (Linux's parent-death signal). Beat itself refuses to start while another beat
runs for the same instance folder (``webapp.beat``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from webapp import create_app
from webapp.serving import RequestHandler

# Run in the child before it becomes celery: ask Linux to send it SIGTERM when this process dies (PR_SET_PDEATHSIG
# is 1), then check this process is still there (it may have died before the request was made). Done by a small
# exec wrapper, not preexec_fn, which is unsafe in a process that runs threads.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(0)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])\n"
)
CELERY = ["-m", "celery", "-A", "webapp.worker:celery"]
COMMANDS = {
    "worker": [*CELERY, "worker", "-c", "2", "--loglevel", "INFO"],
    "beat": [*CELERY, "beat", "--loglevel", "INFO"],
}
RESTART_DELAYS = (1.0, 2.0, 5.0, 15.0, 60.0)  # a child that keeps dying is started again less and less often


class Supervisor:
    """Starts the children, starts again any that exits while running, and stops them all at the end."""

    def __init__(self, commands: dict[str, list[str]]):
        self.commands = commands
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()
        self._failures = dict.fromkeys(commands, 0)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # the children are started (and restarted) from the supervisor thread: the parent-death signal follows
        # the thread that started a child, and this one lives as long as the process
        started = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(started,), name="supervisor", daemon=True)
        self._thread.start()
        started.wait()

    def _spawn(self, name: str) -> None:
        argv = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *self.commands[name]]
        self.children[name] = subprocess.Popen(argv)
        print(f"GridDesk: {name} started (pid {self.children[name].pid})", flush=True)

    def _watch(self, started: threading.Event) -> None:
        for name in self.commands:
            self._spawn(name)
        started.set()
        while not self._stopping.wait(0.5):
            for name, child in list(self.children.items()):
                code = child.poll()
                if code is None:
                    continue
                delay = RESTART_DELAYS[min(self._failures[name], len(RESTART_DELAYS) - 1)]
                self._failures[name] += 1
                print(f"GridDesk: {name} (pid {child.pid}) exited with {code}; starting it again in {delay:.0f} s")
                if self._stopping.wait(delay):
                    return
                self._spawn(name)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()


def _stop(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _payment_simulator(app: object) -> list[str] | None:
    """Unless real Alipay credentials are configured (or ``PAYMENT_SIMULATOR=0``), online payment goes to the
    provider simulator on 127.0.0.1 (``PAYMENT_SIMULATOR_PORT``, default 8765), which speaks both Alipay's and
    WeChat Pay's protocols: the app, the worker and beat are pointed at it (both providers offered unless
    ``ONLINE_PAY_PROVIDERS`` says otherwise), and it is supervised like them. Returns its command, or None."""
    from billing import online

    config = app.config  # type: ignore[attr-defined]
    if config.get("ALIPAY_APP_ID") or os.environ.get("PAYMENT_SIMULATOR", "1") == "0":
        return None
    sim_port = int(os.environ.get("PAYMENT_SIMULATOR_PORT", "8765"))
    url = f"http://127.0.0.1:{sim_port}/gateway.do"
    os.environ["PAYMENT_SIMULATOR_URL"] = url  # the worker and beat read it too
    config["PAYMENT_SIMULATOR_URL"] = url
    if not os.environ.get("ONLINE_PAY_PROVIDERS"):  # the demo offers both: the customer chooses
        os.environ["ONLINE_PAY_PROVIDERS"] = "alipay,wechat"
        config["ONLINE_PAY_PROVIDERS"] = "alipay,wechat"
    online.configure(config)
    keys = str(online.simulator_keys())
    print(f"GridDesk: online payment goes to the simulated Alipay and WeChat Pay at {url}", flush=True)
    return ["-m", "billing.online.simulator", "--keys", keys, "--port", str(sim_port)]


def main() -> int:
    # Explicit handlers: a process started in the background inherits SIGINT ignored.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    app = create_app()
    commands = dict(COMMANDS)
    simulator = _payment_simulator(app)
    if simulator:
        commands["payment-simulator"] = simulator
    supervisor = Supervisor(commands)
    supervisor.start()
    print(f"GridDesk on http://{host}:{port}/  (Celery worker and beat supervised; Ctrl-C stops all)", flush=True)
    try:
        app.run(host=host, port=port, use_reloader=False, threaded=True, request_handler=RequestHandler)
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
