"""The trading engine: the single writer of account state (see engine/contracts.py for its interface)."""
