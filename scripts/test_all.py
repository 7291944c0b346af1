"""Run every test runner of `make test` and print one closing line: `N passed, N failed`.

Runners: ruff (lint and format), mypy, pytest (unit + integration + e2e), and the frontend's
checks when frontend/ exists. Exit status is non-zero if anything failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


class Tally:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.lines: list[str] = []

    def add(self, name: str, passed: int, failed: int, seconds: float) -> None:
        self.passed += passed
        self.failed += failed
        self.lines.append(f"  {name:<22} {passed:>5} passed {failed:>4} failed  {seconds:6.1f}s")


def _run(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> int:
    print(f"\n=== {' '.join(cmd)}", flush=True)
    return subprocess.run(cmd, cwd=cwd, env=env).returncode


def check(tally: Tally, name: str, cmd: list[str], cwd: Path = ROOT) -> None:
    """A whole-tree check counts as one test."""
    start = time.monotonic()
    code = _run(cmd, cwd)
    tally.add(name, int(code == 0), int(code != 0), time.monotonic() - start)


def pytest_suite(tally: Tally, name: str, args: list[str]) -> None:
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        code = _run([PY, "-m", "pytest", f"--junitxml={report}", *args])
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
        )
        passed = failed = 0
        if out.exists():
            data = json.loads(out.read_text())
            passed, failed = data.get("numPassedTests", 0), data.get("numFailedTests", 0)
        if code != 0 and failed == 0:
            failed = 1
    tally.add("vitest", passed, failed, time.monotonic() - start)


def main() -> int:
    tally = Tally()
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
    # Two pytest-xdist workers, whole files each (module fixtures start engines and servers once);
    # every worker has its own database and Redis index (tests/conftest.py).
    workers = os.environ.get("TEST_WORKERS", "2")
    pytest_suite(tally, "pytest", ["-m", "not slow", "-n", workers, "--dist", "loadfile", "tests"])
    if os.environ.get("RUN_SLOW_TESTS", "1") == "1":
        pytest_suite(tally, "pytest (slow)", ["-m", "slow", "tests"])
    print("\n=== summary")
    print("\n".join(tally.lines))
    print(f"{tally.passed} passed, {tally.failed} failed", flush=True)
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
