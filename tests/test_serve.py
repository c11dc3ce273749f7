"""`riskhub serve` really serves: the command `make run` ends with."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

RISKHUB = Path(sys.executable).with_name("riskhub")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(not RISKHUB.exists(), reason="the riskhub command is not installed in this environment")
def test_init_then_serve_answers_on_the_port(tmp_path):
    env = {**os.environ, "RISKHUB_INSTANCE_PATH": str(tmp_path)}
    env.pop("RISKHUB_DATABASE_URL", None)
    subprocess.run([str(RISKHUB), "init"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen([str(RISKHUB), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:  # noqa: S310
                    body = response.read()
                break
            except OSError:
                time.sleep(0.1)
        assert body == b'{"status":"ok"}\n'
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/signin", timeout=5) as response:  # noqa: S310
            assert b"Sign in to riskhub" in response.read()
    finally:
        server.terminate()
        server.wait(timeout=10)
