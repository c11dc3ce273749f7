"""`make bench` / `python -m bench`: riskhub under gunicorn and wrk, on SQLite and PostgreSQL.

    python -m bench                                  # 2,000 and 20,000 cases, both backends (long)
    python -m bench --scale 2000 --backend sqlite --quick   # a couple of minutes
    python -m bench --reuse /tmp/large-instance      # measure data generated earlier

Each run builds a fresh instance (`riskhub init`, then `riskhub bench-data`), serves it and a
bare hello app with the same gunicorn setup on 127.0.0.1, signs clients in and measures each
page at 8 concurrent clients, then times `riskhub audit verify` and `riskhub rotate-keys`.
Results are printed and written to bench/results/ (git-ignored). Figures are only as good as
the machine is quiet: the load average is recorded beside each measurement.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench import clients, instance, load, report, scenarios, server
from bench.scenarios import Budget

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="2000,20000", help="case counts, comma-separated (default 2000,20000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="5 s per page and fewer requests")
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration per page")
    parser.add_argument("--max-requests", type=int, default=20_000, help="request budget per page")
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2) + 1))
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker: 1 (default) runs sync workers, as README's production "
                             "command does; more runs gthread")
    parser.add_argument("--only", default="", help="measure only these pages (comma-separated labels)")
    parser.add_argument("--skip", default="", help="skip phases: load,hello,verify,rotate,throttle")
    parser.add_argument("--reuse", action="append", default=[], metavar="PATH[@DATABASE_URL]",
                        help="measure an instance generated earlier instead of generating (kept afterwards)")
    parser.add_argument("--pg-url", default=os.environ.get("RISKHUB_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--keep", action="store_true", help="keep generated instances and databases")
    return parser.parse_args()


def _machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "memory": memory, "python": platform.python_version(),
            "wrk": shutil.which("wrk"), "load_at_start": scenarios.load_average()}


def _has_command(inst: instance.Instance, *words: str) -> bool:
    result = subprocess.run([instance.RISKHUB, *words[:-1], "--help"], env=inst.env(), capture_output=True,
                            text=True, check=False)
    return result.returncode == 0 and words[-1] in result.stdout


def _audit_paths(port: int, manifest: dict[str, Any]) -> dict[str, list[str]]:
    """The auditor's search and "who saw this", when this version of riskhub has them."""
    session = clients.sign_in(port, manifest["auditor"], manifest["password"], form_page="/audit/search")
    refs = manifest["cases"][:40]
    clients.check(port, f"/audit/cases/{refs[0]}", session)
    return {
        "auditor search": [f"/audit/search?case_ref={r}" for r in refs[:20]]
                          + [f"/audit/search?user={manifest['practitioner']}", "/audit/search?action=case.view",
                             "/audit/search?outcome=denied"],
        "who saw this": [f"/audit/cases/{r}" for r in refs],
    }


def measure_instance(inst: instance.Instance, options: argparse.Namespace, budget: Budget,
                     setup: server.Setup) -> dict[str, Any]:
    skip = set(filter(None, options.skip.split(",")))
    only = set(filter(None, options.only.split(","))) or None
    run: dict[str, Any] = {"backend": inst.backend, "cases": inst.cases, "server": setup.describe(),
                           "manifest": {k: v for k, v in inst.manifest.items() if k not in ("cases", "password")},
                           "timings": dict(inst.manifest.get("timings_run", {})), "pages": {}}
    env = {k: v for k, v in inst.env().items() if k.startswith("RISKHUB_")}
    if "hello" not in skip:
        with server.serve("bench.hello:create_app()", setup, {}, "/") as hello:
            run["hello"] = scenarios.hello(hello.port, budget)
    if "load" not in skip:
        with server.serve("riskhub:create_app()", setup, env, "/health") as app:
            try:
                audit = _audit_paths(app.port, inst.manifest)
            except RuntimeError as error:
                print(f"    (no auditor pages measured: {error})")
                audit = {}
            run["pages"] = scenarios.measure(app.port, inst.manifest, budget, only, audit)
            run["memory"] = app.worker_memory_mb()
            if "throttle" not in skip:
                run["sign-in throttled after 7 failures"] = clients.throttled_after_failures(app.port)
    if "verify" not in skip and _has_command(inst, "audit", "verify"):
        seconds, result = inst.run("audit", "verify", check=False)
        run["timings"]["audit verify (s)"] = round(seconds, 1)
        run["audit verify output"] = (result.stdout + result.stderr).strip().splitlines()[-2:]
        print(f"    audit verify: {' / '.join(run['audit verify output'])}")
    if "rotate" not in skip:
        seconds, _ = inst.run("rotate-keys")
        run["timings"]["rotate-keys (s)"] = round(seconds, 1)
    run["load_at_end"] = scenarios.load_average()
    run["ratios"] = report.ratios(run)
    return run


def main() -> None:
    options = _options()
    if shutil.which(load.WRK) is None:  # before any data is generated, not after
        raise SystemExit("wrk is not installed: run scripts/ensure-wrk (`make bench` does), or apt-get install wrk")
    if options.quick:
        options.seconds, options.max_requests = min(options.seconds, 5), min(options.max_requests, 3000)
    budget = Budget(options.seconds, options.max_requests, max(3, options.seconds // 2), 300)
    setup = server.Setup(options.workers, options.threads)
    backends = ("sqlite", "postgresql") if options.backend == "both" else (options.backend,)
    full: dict[str, Any] = {"machine": _machine(), "options": vars(options), "runs": []}
    print(f"riskhub benchmark: {setup.describe()}, 8 clients, load average {full['machine']['load_at_start']}")
    plans: list[tuple[str, Any]] = [("reuse", r) for r in options.reuse]
    if not options.reuse:
        plans += [(b, int(s)) for b in backends for s in options.scale.split(",") if s]
    for backend, what in plans:
        if backend == "reuse":
            path, _, url = what.partition("@")
            inst = instance.reuse(Path(path), url or None)
            print(f"\n-- {inst.backend}: reusing {inst.cases} cases at {path}")
        else:
            print(f"\n-- {backend}: {what} cases")
            inst, seconds = instance.create(backend, what, options.pg_url, options.seed)
            inst.manifest["timings_run"] = {"generation (s)": round(seconds, 1)}
        try:
            run = measure_instance(inst, options, budget, setup)
            run["generation phases (s)"] = inst.manifest.get("timings")
            full["runs"].append(run)
            report.print_run(run)
        finally:
            if not options.keep:
                instance.remove(inst, options.pg_url)
    full["growth"] = report.growth(full["runs"])
    if full["growth"]:
        print("\nGrowth (largest / smallest scale):")
        report.print_checks(full["growth"])
    print(f"\nWritten to {report.save(full)}")


if __name__ == "__main__":
    main()
