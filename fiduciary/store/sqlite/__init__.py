"""The SQLite adapter of the store ports: the embedded default. Only `runtime` imports it."""

from fiduciary.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
