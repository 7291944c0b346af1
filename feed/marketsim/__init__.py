"""A Twelve Data–compatible market simulator: WebSocket /v1/quotes/price, REST, fault switches."""
