"""Market data: the one upstream Twelve Data connection, normalised quotes into Redis, the simulator."""
