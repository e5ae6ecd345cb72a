"""The database endpoints, published once for every reader (PgBouncer, the datalayer, jobs).

``/<project>/<env>/database/replica-endpoints`` holds a JSON array with one object per read
replica, ``{"id": ..., "host": ..., "port": ...}``, in replica order; its length is
``database.replicas`` from ``cdk.json``, so the datalayer's replica list and the
infrastructure's replica count come from the same config. ``database/read-host`` is the
first replica's host, or the primary's when there is none (PgBouncer's ``<db>_ro`` pool).
"""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from infra.constructs.database.instances import Database
from infra.constructs.handoff import Keys, publish


def publish_endpoints(scope: Construct, prefix: str, database: Database) -> None:
    """Write the primary host, the read host and the replica list as SSM parameters."""
    primary = database.primary.db_instance_endpoint_address
    replicas = [
        {
            "id": replica.instance_identifier,
            "host": replica.db_instance_endpoint_address,
            "port": replica.db_instance_endpoint_port,
        }
        for replica in database.replicas
    ]
    read_host = replicas[0]["host"] if replicas else primary
    publish(scope, prefix, Keys.PRIMARY_HOST, primary, "primary endpoint address")
    publish(scope, prefix, Keys.READ_HOST, read_host, "read pool host (first replica or primary)")
    publish(
        scope, prefix, Keys.REPLICA_ENDPOINTS, Stack.of(scope).to_json_string(replicas),
        "read replicas as a JSON array of {id, host, port}",
    )  # fmt: skip
