"""`python -m feed.marketsim --port N [--host H] [--seed S] [--key KEY=PLAN] [--fault NAME=JSON]`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from aiohttp import web

from common.logs import setup_logging
from config import get_settings
from feed.marketsim.server import build_app

log = logging.getLogger("marketsim")


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"marketsim: --{what} wants NAME=VALUE, not {item!r}")
        out[name] = value
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m feed.marketsim", description=__doc__)
    parser.add_argument("--port", type=int, default=settings.marketsim_port)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=settings.marketsim_seed)
    parser.add_argument("--key", action="append", default=[], help="accept KEY with PLAN (basic, grow, pro, ...)")
    parser.add_argument("--fault", action="append", default=[], help="initial switch NAME=JSON, e.g. tick_rate=10")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    setup_logging("marketsim", settings.log_level, settings.log_json)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    faults: dict[str, Any] = {}
    for name, raw in _pairs(args.fault, "fault").items():
        try:
            faults[name] = json.loads(raw)
        except ValueError:
            faults[name] = raw
    app = build_app(args.seed, _pairs(args.key, "key"), faults)
    log.info("marketsim on %s:%d (seed %d)", args.host, args.port, args.seed)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None, handle_signals=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
