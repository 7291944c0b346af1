"""Run every test runner of `make test` and print one closing line: `N passed, N failed`.

Runners: ruff (lint and format), mypy and the frontend's checks (beside the main pytest run),
pytest (unit + integration + e2e, two xdist workers), then the fault-injection tests alone.
Exit status is non-zero if anything failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


class Tally:
    def __init__(self, buffered: bool = False) -> None:
        self.passed = 0
        self.failed = 0
        self.lines: list[str] = []
        self.buffered = buffered  # collect the runners' output (they run beside pytest) for later
        self.output: list[str] = []

    def merge(self, other: Tally) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.lines.extend(other.lines)

    def add(self, name: str, passed: int, failed: int, seconds: float) -> None:
        self.passed += passed
        self.failed += failed
        self.lines.append(f"  {name:<22} {passed:>5} passed {failed:>4} failed  {seconds:6.1f}s")


def _run(cmd: list[str], cwd: Path = ROOT, tally: Tally | None = None) -> int:
    header = f"\n=== {' '.join(cmd)}"
    if tally is None or not tally.buffered:
        print(header, flush=True)
        return subprocess.run(cmd, cwd=cwd).returncode
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tally.output.append(f"{header}\n{done.stdout}")
    return done.returncode


def check(tally: Tally, name: str, cmd: list[str], cwd: Path = ROOT) -> None:
    """A whole-tree check counts as one test."""
    start = time.monotonic()
    code = _run(cmd, cwd, tally)
    tally.add(name, int(code == 0), int(code != 0), time.monotonic() - start)


def pytest_suite(tally: Tally, name: str, args: list[str]) -> None:
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        # The slowest tests are listed at the end: the suite has a 10-minute budget to keep.
        code = _run([PY, "-m", "pytest", f"--junitxml={report}", "--durations=15", *args])
        passed = failed = 0
        if report.exists():
            root = ET.parse(report).getroot()  # noqa: S314 - our own pytest report
            for suite in root.iter("testsuite"):
                total = int(suite.get("tests", 0))
                bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
                skipped = int(suite.get("skipped", 0))
                passed += total - bad - skipped
                failed += bad
        if code not in (0, 5) and failed == 0:
            failed = 1  # the runner itself broke (collection error, crash)
    tally.add(name, passed, failed, time.monotonic() - start)


def vitest(tally: Tally) -> None:
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vitest.json"
        code = _run(
            ["npx", "vitest", "run", "--reporter=default", "--reporter=json", f"--outputFile={out}"],
            cwd=ROOT / "frontend",
            tally=tally,
        )
        passed = failed = 0
        if out.exists():
            data = json.loads(out.read_text())
            passed, failed = data.get("numPassedTests", 0), data.get("numFailedTests", 0)
        if code != 0 and failed == 0:
            failed = 1
    tally.add("vitest", passed, failed, time.monotonic() - start)


def static_checks(tally: Tally) -> None:
    """Lint, types and the frontend's checks and unit tests (a runner that cannot start fails)."""
    try:
        _static_checks(tally)
    except Exception as exc:  # noqa: BLE001 - reported as a failure, never lost with the thread
        tally.output.append(f"\n=== static checks stopped: {exc!r}\n")
        tally.add("static checks", 0, 1, 0.0)


def _static_checks(tally: Tally) -> None:
    check(tally, "ruff lint", [PY, "-m", "ruff", "check", "."])
    check(tally, "ruff format", [PY, "-m", "ruff", "format", "--check", "."])
    check(tally, "mypy", [PY, "-m", "mypy", "."])
    frontend = ROOT / "frontend" / "package.json"
    if frontend.exists():
        scripts = json.loads(frontend.read_text()).get("scripts", {})
        if "typecheck" in scripts:
            check(tally, "tsc", ["npm", "run", "--silent", "typecheck"], cwd=ROOT / "frontend")
        if "check:api-types" in scripts:
            check(tally, "api types fresh", ["npm", "run", "--silent", "check:api-types"], cwd=ROOT / "frontend")
        if "lint" in scripts:
            check(tally, "eslint", ["npm", "run", "--silent", "lint"], cwd=ROOT / "frontend")
        vitest(tally)


def main() -> int:
    tally = Tally()
    # The static checks run beside the main pytest run (which mostly waits on the processes and
    # servers it starts); their output is printed once they are done.
    static = Tally(buffered=True)
    beside = threading.Thread(target=static_checks, args=(static,), name="static-checks")
    beside.start()
    # Two pytest-xdist workers, whole files each (module fixtures start engines and servers once);
    # every worker has its own database and Redis server or index (tests/conftest.py).
    workers = os.environ.get("TEST_WORKERS", "2")
    pytest_suite(tally, "pytest", ["-m", "not slow", "-n", workers, "--dist", "loadfile", "tests"])
    beside.join()
    print("".join(static.output), flush=True)
    tally.merge(static)
    # The fault-injection tests run alone: they measure recovery times.
    if os.environ.get("RUN_SLOW_TESTS", "1") == "1":
        pytest_suite(tally, "pytest (slow)", ["-m", "slow", "tests"])
    print("\n=== summary")
    print("\n".join(tally.lines))
    print(f"{tally.passed} passed, {tally.failed} failed", flush=True)
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
