"""Every checkov check skipped for a resource, with its reason, in one reviewed place.

Skips are written into the template as resource metadata (``Metadata.checkov.skip``), which
checkov honours offline, so each one is scoped to a single resource instead of silencing a
check for the whole template. Checks that fail on CDK's own helper Lambdas (custom-resource
providers that only call AWS APIs) are skipped there and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aws_cdk import CfnResource, Stack

from infra.compliance.paths import find_resource
from infra.config import EnvironmentConfig


@dataclass(frozen=True)
class CheckovSkip:
    """One reviewed checkov failure: resource, check id and why it does not apply."""

    stack: str
    path: str
    check: str
    reason: str
    applies: Callable[[EnvironmentConfig], bool] = lambda _config: True


_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler"
_TRIGGER_PROVIDER = "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider/Handler"
_PROVIDER_REASONS = {
    "CKV_AWS_116": "CDK custom-resource provider invoked synchronously by CloudFormation; "
    "a dead-letter queue only applies to asynchronous invocations.",
    "CKV_AWS_117": "CDK custom-resource provider that only calls AWS APIs (EC2 / Lambda); "
    "it touches no data in the VPC, so it runs outside it.",
    "CKV_AWS_115": "CDK custom-resource provider, invoked once per deployment by "
    "CloudFormation; a concurrency limit adds nothing.",
}


def _has_replicas(config: EnvironmentConfig) -> bool:
    return config.database.replicas > 0


SKIPS: tuple[CheckovSkip, ...] = (
    *(
        CheckovSkip(stack, path, check, reason)
        for stack, path in (("network", _DEFAULT_SG_PROVIDER), ("services", _TRIGGER_PROVIDER))
        for check, reason in _PROVIDER_REASONS.items()
    ),
    CheckovSkip(
        "services", "Jobs/Migrate", "CKV_AWS_116",
        "The migration job is invoked synchronously (RequestResponse) by the deployment "
        "trigger, which fails the deployment on error; a DLQ only catches async invocations.",
    ),
    CheckovSkip(
        "services", "Jobs/Migrate", "CKV_AWS_115",
        "No reserved concurrency on purpose: it fails in accounts with a low concurrency "
        "quota, and the migration runner's advisory lock already serializes concurrent runs.",
    ),
    CheckovSkip(
        "services", "Jobs/Migrate", "CKV_AWS_173",
        "The environment holds no secret (a secret ARN, an SSL mode and log settings); Lambda "
        "encrypts it at rest with its service key. Credentials are fetched at run time.",
    ),
    *(
        CheckovSkip("operations", function, check, reason)
        for function in ("Maintenance/Job/Function", "RestoreDrill/Validation/Function")
        for check, reason in {
            "CKV_AWS_116": "Invoked by EventBridge with retries off on purpose: a failed run "
            "is counted (JobFailed) and alarmed, and the next scheduled run starts over "
            "idempotently; a DLQ would hold events nobody replays.",
            "CKV_AWS_115": "No reserved concurrency: it fails in accounts with a low "
            "concurrency quota; one schedule or one restore job starts at most one run.",
            "CKV_AWS_173": "The environment holds no secret (secret ids, a parameter name, "
            "metric and log settings); Lambda encrypts it at rest with its service key.",
        }.items()
    ),
    CheckovSkip(
        "services", "PgBouncer/Lb", "CKV_AWS_91",
        "NLB access logs are only produced for TLS listeners; this NLB forwards TCP with TLS "
        "end to end. VPC flow logs record the flows.",
    ),
    CheckovSkip(
        "data", "Database/Primary", "CKV_AWS_157",
        "Multi-AZ is off by configuration outside prod (seed 003 cost optimisation).",
        applies=lambda config: not config.database.multi_az,
    ),
    CheckovSkip(
        "data", "Database/Replica1", "CKV_AWS_16",
        "The replica inherits encryption from the encrypted primary; CloudFormation rejects "
        "StorageEncrypted on a read replica (F3020).",
        applies=_has_replicas,
    ),
    CheckovSkip(
        "data", "Database/Replica1", "CKV_AWS_157",
        "A read replica is the extra read copy; write availability comes from the primary.",
        applies=_has_replicas,
    ),
    *(
        CheckovSkip("operations", f"Gdpr/{job}/Function", check, reason)
        for job in ("Export", "Erasure")
        for check, reason in (
            ("CKV_AWS_116", "Invoked by an SQS event source mapping, never asynchronously; "
             "failed messages go to the queue's own dead-letter queue (redrive policy), which "
             "is alarmed. A function DLQ would never receive anything."),
            ("CKV_AWS_115", "No reserved concurrency (it fails under a low account quota); "
             "the event source mapping's MaximumConcurrency caps concurrent runs instead."),
            ("CKV_AWS_173", "The environment holds no secret (secret ARNs, the bucket name, "
             "the key ARN, log and metric settings); Lambda encrypts it at rest with its "
             "service key. Credentials and the audit key are fetched at run time."),
        )
    ),
    CheckovSkip(
        "data", "Gdpr/Exports", "CKV_AWS_21",
        "No versioning on purpose: an export is written once under its request id, and old "
        "versions would keep personal data past the 30-day expiry and past an erasure.",
    ),
    CheckovSkip(
        "data", "Gdpr/ExportsAccessLogs", "CKV_AWS_18",
        "This is the access-log bucket of the exports bucket; logging it into another "
        "bucket would only move the question one bucket further.",
    ),
    CheckovSkip(
        "data", "Gdpr/ExportsAccessLogs", "CKV_AWS_21",
        "Access logs are append-only objects written by the S3 log delivery; versioning "
        "adds nothing but cost. They expire after 365 days.",
    ),
)  # fmt: skip


def skip_checkov_checks(stacks: Mapping[str, Stack], config: EnvironmentConfig) -> None:
    """Write the skips of ``config``'s environment into their resources' metadata."""
    by_resource: dict[str, tuple[CfnResource, list[dict[str, str]]]] = {}
    for entry in SKIPS:
        if not entry.applies(config):
            continue
        resource = find_resource(stacks[entry.stack], entry.path)
        _, skips = by_resource.setdefault(resource.node.path, (resource, []))
        skips.append({"id": entry.check, "comment": entry.reason})
    for resource, skips in by_resource.values():
        resource.add_metadata("checkov", {"skip": skips})
