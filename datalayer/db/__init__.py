"""Connection management: engines, sessions and the unit of work."""

from datalayer.db.engine import Database, async_url, create_engine_for

__all__ = ["Database", "async_url", "create_engine_for"]
