"""Public market data under /api/market: symbols with quotes, feed status, candles."""

from __future__ import annotations

from typing import Any

from flask import Response

from web.extensions import limiter
from web.openapi import Blueprint
from web.schemas.market import CandleSchema, CandlesQuerySchema, FeedStatusSchema, SymbolSchema
from web.services import market

blp = Blueprint("market", __name__, url_prefix="/api/market", description="Instruments, quotes and candles")


@blp.route("/symbols", methods=["GET"])
@limiter.limit("600/minute")
@blp.response(200, SymbolSchema(many=True))
def symbols() -> list[dict[str, Any]]:
    """Every enabled instrument: contract specification, whether it is tradable now, last quote."""
    return market.list_symbols()


@blp.route("/status", methods=["GET"])
@limiter.limit("600/minute")
@blp.response(200, FeedStatusSchema)
def status() -> dict[str, Any]:
    """The market-data feed: ws (live), rest-fallback (polling) or down."""
    return market.feed_status()


@blp.route("/candles", methods=["GET"])
@limiter.limit("300/minute")
@blp.arguments(CandlesQuerySchema, location="query")
@blp.response(200, CandleSchema(many=True))
@blp.alt_response(404, description="Unknown symbol (`unknown_symbol`)")
@blp.alt_response(
    503,
    description="The provider is needed but failing: `provider_unavailable`, `provider_rate_limited` "
    "(Retry-After), `provider_auth_failed`, `provider_no_symbol`",
)
def candles(query: dict[str, Any]) -> Response:
    """The last `limit` bars of a symbol, oldest first: {t (epoch s), o, h, l, c, v} as decimal strings."""
    body = market.candles_json(query["symbol"], query["interval"], query["limit"])
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=5"
    return response
