"""Named locks: a second holder is refused at once (other connection, thread or process), released after."""

from __future__ import annotations

import subprocess
import sys
import threading

from core.locks import exclusive, run_alone


def test_a_second_holder_is_refused_until_the_first_lets_go(app) -> None:
    with app.app_context(), exclusive("test.job") as first:
        assert first is True
        with exclusive("test.job") as second, exclusive("test.other") as other:
            assert second is False and other is True
    with app.app_context(), exclusive("test.job") as again:
        assert again is True


def test_another_thread_is_refused_too(app) -> None:
    seen: list[bool] = []

    def try_it() -> None:
        with app.app_context(), exclusive("test.job") as mine:
            seen.append(mine)

    with app.app_context(), exclusive("test.job"):
        thread = threading.Thread(target=try_it)
        thread.start()
        thread.join()
    assert seen == [False]


def test_another_process_is_refused_while_it_is_held(app, tmp_path) -> None:
    # one process that asks for the lock each time it reads a line (starting the app twice would cost seconds)
    probe = (
        "import sys\n"
        "from webapp import create_app\n"
        "from core.locks import exclusive\n"
        "with create_app().app_context():\n"
        "    print('ready', flush=True)\n"
        "    for _line in sys.stdin:\n"
        "        with exclusive('test.job') as mine:\n"
        "            print(mine, flush=True)\n"
    )
    errors = tmp_path / "stderr"
    with open(errors, "w") as stderr:
        other = subprocess.Popen(
            [sys.executable, "-c", probe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    assert other.stdin is not None and other.stdout is not None

    def ask() -> str:
        other.stdin.write("\n")  # type: ignore[union-attr]
        other.stdin.flush()  # type: ignore[union-attr]
        return other.stdout.readline().strip()  # type: ignore[union-attr]

    try:
        assert other.stdout.readline().strip() == "ready", errors.read_text()[-2000:]
        with app.app_context(), exclusive("test.job"):
            held = ask()
        free = ask()
    finally:
        other.stdin.close()
        other.wait(timeout=60)
    assert (held, free) == ("False", "True"), errors.read_text()[-2000:]


def test_run_alone_does_nothing_while_another_run_holds_the_lock(app) -> None:
    calls: list[int] = []

    @run_alone("test.job")
    def job(n: int) -> dict[str, int]:
        calls.append(n)
        return {"done": n}

    with app.app_context():
        with exclusive("test.job"):
            assert job(1) == {"skipped": "another run is going"}
        assert job(2) == {"done": 2}
    assert calls == [2]
