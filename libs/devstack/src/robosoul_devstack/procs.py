"""Processes the local stack starts: free ports, start, wait until ready, stop by PID.

Every process is started in its own process group and stopped by that group's
id (SIGTERM, then SIGKILL after a grace period), never by name.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """n distinct free ports (all held open while choosing, so none repeats)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class ProcessFailed(RuntimeError):
    pass


class ManagedProcess:
    """A child process with a log file, a readiness check and a clean stop.

        >>> p = ManagedProcess("sleeper", ["sleep", "30"], log_dir=Path("/tmp"))
        >>> p.start().pid > 0
        True
        >>> p.stop()
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready: Callable[[], bool] | None = None,
    ):
        self.name = name
        self.argv = list(argv)
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.ready = ready
        self.log_path = Path(log_dir) / f"{name}.log"
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int:
        assert self._proc is not None, f"{self.name} was never started"
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 60.0) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if self.ready is not None:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ProcessFailed(f"{self.name} exited with {self._proc.returncode}; log tail:\n{self.tail()}")
            if self.ready():
                return
            time.sleep(0.05)
        self.stop()
        raise ProcessFailed(f"{self.name} was not ready after {timeout:.0f} s; log tail:\n{self.tail()}")

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after `grace` seconds; return the exit code.

        The group is signalled even if the main process already died, so its
        children (Triton's python-backend stubs, say) never outlive it.
        """
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._killpg(signal.SIGTERM)
            try:
                self._proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._killpg(signal.SIGKILL)
                self._proc.wait()
        self._killpg(signal.SIGKILL)  # stragglers of an exited leader
        if self._log is not None:
            self._log.close()
            self._log = None
        return self._proc.returncode

    def _killpg(self, sig: int) -> None:
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        """SIGKILL the whole group now (tests of crash recovery)."""
        if self._proc is not None:
            self._killpg(signal.SIGKILL)
            self._proc.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_nats_server(store: Path, *, log_dir: Path, name: str = "nats") -> tuple[ManagedProcess, str]:
    """A private nats-server with JetStream (data in `store`) on a free loopback port, and its URL."""
    port = free_port()
    nats_server = shutil.which("nats-server") or "/usr/sbin/nats-server"
    proc = ManagedProcess(
        name, [nats_server, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(store)],
        log_dir=log_dir, ready=lambda: port_open("127.0.0.1", port),
    ).start(timeout=20)
    return proc, f"nats://127.0.0.1:{port}"
