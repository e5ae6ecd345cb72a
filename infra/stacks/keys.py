"""Stateful: the customer-managed KMS keys (retained in staging and prod)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from infra.config import EnvironmentConfig
from infra.constructs.keys import DataKeys


class KeysStack(Stack):
    """KMS keys for the database, cache, backups, exports, logs and alerting."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.keys = DataKeys(self, "Keys", prefix=config.prefix, retain=config.retain_on_delete)
