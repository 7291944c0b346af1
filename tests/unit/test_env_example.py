"""`.env.example` documents every setting (and nothing that does not exist)."""

import re
from dataclasses import fields
from pathlib import Path

from config import Settings

ROOT = Path(__file__).resolve().parents[2]
PROCESS_ONLY = {
    "HOST",
    "EMBEDDED_REDIS_PORT",
    "ACCESS_LOG",
    "FORWARDED_ALLOW_IPS",
    "METRICS_HOST",
    "PROMETHEUS_MULTIPROC_DIR",
}


def _documented() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.M))


def test_every_setting_is_documented():
    names = {f.name.upper() for f in fields(Settings)}
    assert names - _documented() == set()


def test_nothing_documented_is_unknown():
    names = {f.name.upper() for f in fields(Settings)} | PROCESS_ONLY
    assert _documented() - names == set()
