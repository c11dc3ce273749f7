"""A fresh riskhub instance for one benchmark run: temp directory, database, keys, data.

SQLite lives in the instance directory; PostgreSQL gets a private database that is dropped
afterwards. Every command runs the real `riskhub` CLI in a subprocess, as an operator would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RISKHUB = str(Path(sys.executable).with_name("riskhub"))


@dataclass
class Instance:
    """One instance: where it lives and how to reach its database."""

    backend: str
    cases: int
    path: Path
    database_url: str | None = None  # None: SQLite in the instance directory
    database_name: str | None = None  # PostgreSQL database to drop afterwards
    owned: bool = True  # made by this run (removed afterwards), or reused from --reuse
    manifest: dict[str, Any] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {**os.environ, "RISKHUB_INSTANCE_PATH": str(self.path)}
        env.pop("RISKHUB_DATABASE_URL", None)
        if self.database_url:
            env["RISKHUB_DATABASE_URL"] = self.database_url
        return env

    def run(self, *args: str, capture: bool = True, check: bool = True,
            ) -> tuple[float, subprocess.CompletedProcess[str]]:
        """Run a riskhub command against this instance; return (seconds, result)."""
        started = time.monotonic()
        result = subprocess.run([RISKHUB, *args], env=self.env(), cwd=ROOT, text=True,
                                capture_output=capture, check=False)
        elapsed = time.monotonic() - started
        if check and result.returncode != 0:
            raise RuntimeError(f"riskhub {' '.join(args)} failed:\n{result.stderr[-3000:] if capture else ''}")
        return elapsed, result

    def load_manifest(self) -> dict[str, Any]:
        self.manifest = json.loads((self.path / "bench-manifest.json").read_text())
        return self.manifest


def _pg(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


def create(backend: str, cases: int, pg_url: str, seed: int) -> tuple[Instance, float]:
    """Make a new instance with `cases` cases of synthetic data; return it and the generation time."""
    path = Path(tempfile.mkdtemp(prefix=f"riskhub-bench-{backend}-{cases}-"))
    instance = Instance(backend=backend, cases=cases, path=path)
    if backend == "postgresql":
        name = f"riskhub_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _pg(pg_url, f'CREATE DATABASE "{name}"')
        instance.database_name = name
        instance.database_url = pg_url.rsplit("/", 1)[0] + "/" + name
    instance.run("init")
    print(f"  generating {cases} cases on {backend} (progress below)...", flush=True)
    started = time.monotonic()
    instance.run("bench-data", "--cases", str(cases), "--seed", str(seed), capture=False)
    elapsed = time.monotonic() - started
    instance.load_manifest()
    return instance, elapsed


def reuse(path: Path, database_url: str | None) -> Instance:
    """An instance generated earlier (e.g. the large setting), left in place afterwards."""
    backend = "postgresql" if database_url else "sqlite"
    instance = Instance(backend=backend, cases=0, path=path, database_url=database_url, owned=False)
    instance.cases = int(instance.load_manifest()["volume"]["cases"])
    return instance


def remove(instance: Instance, pg_url: str) -> None:
    """Drop the private database and delete the instance directory (only what this run made)."""
    if not instance.owned:
        return
    if instance.database_name:
        _pg(pg_url, f'DROP DATABASE IF EXISTS "{instance.database_name}" WITH (FORCE)')
    shutil.rmtree(instance.path, ignore_errors=True)
