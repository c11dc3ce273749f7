"""gunicorn on 127.0.0.1, the production server, for riskhub and for the hello ceiling."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


@dataclass(frozen=True)
class Setup:
    """How gunicorn is run; the same for riskhub and for hello."""

    workers: int
    threads: int

    def args(self) -> list[str]:
        worker_class = ["--worker-class", "gthread", "--threads", str(self.threads)] if self.threads > 1 else []
        return ["--workers", str(self.workers), *worker_class, "--timeout", "60", "--graceful-timeout", "5",
                "--log-level", "warning"]

    def describe(self) -> str:
        kind = f"gthread x{self.threads}" if self.threads > 1 else "sync"
        return f"gunicorn {self.workers} workers ({kind})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def worker_memory_mb(self) -> dict[str, float]:
        """Resident memory of each worker now (VmRSS) and at its peak (VmHWM), in MB."""
        now, peak = [], []
        for pid in self.worker_pids():
            try:
                fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
            except OSError:
                continue
            now.append(int(fields["VmRSS"].split()[0]) / 1024)
            peak.append(int(fields["VmHWM"].split()[0]) / 1024)
        return {"workers": len(now), "rss_max_mb": round(max(now, default=0), 1),
                "rss_mean_mb": round(sum(now) / len(now), 1) if now else 0.0,
                "peak_max_mb": round(max(peak, default=0), 1)}


def _wait_until_up(server: Server, path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("gunicorn exited while starting (see its output above)")
        try:
            with urllib.request.urlopen(server.base + path, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {path} within {seconds} s")


@contextmanager
def serve(app: str, setup: Setup, env: dict[str, str], ready_path: str) -> Iterator[Server]:
    """Run gunicorn for `app` on a free loopback port until the block ends."""
    port = free_port()
    process = subprocess.Popen([GUNICORN, *setup.args(), "--bind", f"127.0.0.1:{port}", app],
                               cwd=ROOT, env={**os.environ, **env})
    server = Server(process, port)
    try:
        _wait_until_up(server, ready_path)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
