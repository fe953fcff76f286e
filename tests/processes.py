"""Child processes for the scripts that drive real servers (.ci/compose_smoke.py,
.ci/faults.py, bench/load.py): each runs in its own process group, so stopping it reaches
every child it started (gunicorn's workers, Celery's pool)."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, though not ours to signal
        return True
    return True


class Service:
    """A long-running child, its output appended to `log`; stopped with TERM, then KILL."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path):
        self.name = name
        self.log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 — closed in stop()
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group (no warm shutdown, like the OOM killer or a power cut)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        if not group_alive(self.pid):
            self._log.close()  # nothing left for stop() to do

    def stop(self, grace: float = 10.0) -> None:
        if self._log.closed:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(self.pid):
            self.popen.poll()
            time.sleep(0.1)
        if group_alive(self.pid):
            print(f"  {self.name}: still running after {grace:.0f} s, SIGKILL")
            self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        self._log.close()
