"""gunicorn settings of the web role: what each worker does once the application is loaded."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_a_worker_freezes_the_loaded_application_out_of_the_collectors_sight(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(CONF))
    assert conf["worker_class"] == "gevent"
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    survivor = [object()]  # an object of "the application", alive when the worker is initialised
    try:
        conf["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
        assert not any(o is survivor for o in gc.get_objects())  # no longer in any generation
    finally:
        gc.unfreeze()
    assert any(o is survivor for o in gc.get_objects())
