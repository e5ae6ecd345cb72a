"""Connection management: engines, sessions, the unit of work and read routing."""

from datalayer.db.engine import Database, async_url, create_engine_for
from datalayer.db.routing import ConsistencyScope, ReplicaStatus, RoutingPolicy, consistency_scope

__all__ = [
    "ConsistencyScope",
    "Database",
    "ReplicaStatus",
    "RoutingPolicy",
    "async_url",
    "consistency_scope",
    "create_engine_for",
]
