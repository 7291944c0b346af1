"""`make bench`: run every benchmark and rewrite docs/PERFORMANCE.md with the figures of this run.

Each bench/bench_*.py script prints its figures; this runner records the machine, runs the
reference measurements (bench/reference.py) in the same run, and writes each script's output
beside them. Figures are whatever this run measured; nothing is edited by hand.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
HEADER = ROOT / "docs" / "performance_header.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def run(script: Path) -> tuple[str, float, int]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    output = proc.stdout.strip()
    if proc.returncode != 0:
        output += f"\n[exit {proc.returncode}]\n" + proc.stderr.strip()[-3000:]
    return output, time.monotonic() - start, proc.returncode


def main() -> int:
    scripts = [ROOT / "bench" / "reference.py"] + sorted((ROOT / "bench").glob("bench_*.py"))
    sections = []
    failed = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        output, seconds, code = run(script)
        failed += code != 0
        print(output, flush=True)
        title = script.stem.removeprefix("bench_")
        doc = (
            (script.read_text().split('"""')[1].strip().splitlines() or [""])[0] if '"""' in script.read_text() else ""
        )
        sections.append(
            f"### {title}\n\n{doc}\n\n```\n{output}\n```\n\n(`python bench/{script.name}`, {seconds:.0f} s)\n"
        )
    header = HEADER.read_text() if HEADER.exists() else "# Performance\n"
    body = (
        f"{header.rstrip()}\n\n## Latest run\n\n- when: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}\n"
        f"- machine: {machine()}\n- services: DATABASE_URL and REDIS_URL of the run (see `make bench`)\n\n"
        + "\n".join(sections)
    )
    DOC.write_text(body)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
