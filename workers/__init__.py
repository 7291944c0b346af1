"""RQ workers: small jobs that take ids, not objects."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


def register_loop(loop: Callable[[threading.Event], None]) -> None:
    """Add a loop to the worker's BACKGROUND_LOOPS (under `python -m workers` that module is __main__)."""
    for name in ("__main__", "workers.__main__"):
        loops = getattr(sys.modules.get(name), "BACKGROUND_LOOPS", None)
        if isinstance(loops, list) and loop not in loops:
            loops.append(loop)
