"""The temporary instance AWS Backup restore testing created: make it reachable for the check.

The restored instance carries the master password of the day its snapshot was taken, which
a rotation may have changed since. The validation sets a fresh random password on it (held
in memory only, never logged) and waits until RDS has applied it. The IAM policy of the
function only allows this on instances named ``awsbackup-restore-test-*``, the names restore
testing gives its instances, so the production database can never be touched.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL

from datalayer.errors import NotFoundError, UnavailableError, UnavailableReason

RESTORE_TEST_PREFIX = "awsbackup-restore-test-"
"""Restore testing names the instances it creates with this prefix."""


@dataclass(frozen=True)
class RestoredInstance:
    """Where the restored copy listens and how to log in (password kept out of the repr)."""

    identifier: str
    host: str
    port: int
    username: str
    database: str
    password: str = field(repr=False)

    def url(self, sslmode: str = "require") -> str:
        """A libpq URL for the restored copy (credentials URL-encoded by SQLAlchemy)."""
        return URL.create(
            "postgresql",
            username=self.username,
            password=self.password,
            host=self.host,
            port=self.port,
            database=self.database,
            query={"sslmode": sslmode},
        ).render_as_string(hide_password=False)


def identifier_of(db_arn: str) -> str:
    """The instance identifier in an RDS instance ARN (``arn:aws:rds:...:db:<id>``)."""
    identifier = db_arn.rsplit(":", 1)[-1]
    if not db_arn.startswith("arn:") or ":db:" not in db_arn or not identifier:
        raise NotFoundError("the restore job names no RDS instance")
    return identifier


def open_restored_instance(
    rds: Any, db_arn: str, *, poll_s: float = 15.0, timeout_s: float = 600.0
) -> RestoredInstance:
    """Set a fresh master password on the restore-test instance and wait until it applies."""
    identifier = identifier_of(db_arn)
    if not identifier.startswith(RESTORE_TEST_PREFIX):
        raise NotFoundError("only instances created by restore testing are validated")
    password = secrets.token_urlsafe(32)
    rds.modify_db_instance(
        DBInstanceIdentifier=identifier, MasterUserPassword=password, ApplyImmediately=True
    )
    deadline = time.monotonic() + timeout_s
    while True:
        (instance,) = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        pending = instance.get("PendingModifiedValues") or {}
        if instance["DBInstanceStatus"] == "available" and "MasterUserPassword" not in pending:
            break
        if time.monotonic() > deadline:
            raise UnavailableError(
                "the restored instance did not take its new password in time",
                reason=UnavailableReason.SERVER_NOT_READY,
            )
        time.sleep(poll_s)
    endpoint = instance["Endpoint"]
    return RestoredInstance(
        identifier=identifier,
        host=endpoint["Address"],
        port=int(endpoint["Port"]),
        username=instance["MasterUsername"],
        database=instance.get("DBName") or "postgres",
        password=password,
    )
