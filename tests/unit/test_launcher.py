"""`make run` starts every process of the Procfile, one engine per shard."""

from __future__ import annotations

import launcher


def test_one_engine_by_default_and_the_simulator_without_a_twelve_data_key():
    entries = launcher.procfile_entries({})
    assert entries["engine"] == "python -m engine"
    assert {"web", "engine", "worker", "feed", "marketsim"} <= set(entries)
    assert "marketsim" not in launcher.procfile_entries({"TWELVEDATA_API_KEY": "k"})


def test_one_engine_process_per_shard():
    entries = launcher.procfile_entries({"ENGINE_SHARDS": "3"})
    engines = {name: command for name, command in entries.items() if name.startswith("engine")}
    assert engines == {
        "engine.0": "python -m engine --shard 0",
        "engine.1": "python -m engine --shard 1",
        "engine.2": "python -m engine --shard 2",
    }
