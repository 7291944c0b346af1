"""Helpers shared by every process (web, engine, feed, workers): no Flask here."""
