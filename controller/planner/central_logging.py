"""Plan central logging: the log bucket, the organization trail, AWS Config everywhere, the aggregator. Pure.

Order as a person would do it by hand (after the organization's own settings: trusted access for CloudTrail and
Config and Config's delegated administrator come first in the Organization's plan):

1. the bucket in the log archive account and home region: created, encrypted (SSE-S3), versioned (an overwritten
   or deleted log stays as a noncurrent version), public access blocked,
   objects expired after ``retentionDays``, and a policy that admits CloudTrail and Config of this organization
   only (CloudTrail by the trail's ARN, ``aws:SourceArn``; Config by ``aws:SourceOrgID``);
2. the organization trail from the management account: multi-region, log file validation, logging started
   (AWS refuses it without the bucket policy: InsufficientS3BucketPolicyException);
3. AWS Config in every reachable member account and listed region: a recorder and a delivery channel into the
   bucket, recording (AWS refuses the channel without the bucket policy: InsufficientDeliveryPolicyException). An
   account whose role is not assumable yet (a new account) waits: no action, a pending verdict;
4. the organization aggregator in the log archive account (its delegated administrator for Config).

A bucket, trail, aggregator or recorder that differs after it was once as declared is drift; one missing from
an account never compliant is new work (``Plan.fresh``), carried out under ``AWSORG_DRIFT_POLICY=report`` too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.planner.access_role import Verdict, not_reached
from controller.planner.actions import (
    Action,
    Blocked,
    BlockLogBucketPublicAccess,
    CreateLogBucket,
    DeleteOrganizationAggregator,
    DeleteOrganizationTrail,
    Difference,
    EncryptLogBucket,
    PutConfigRecorder,
    PutLogBucketPolicy,
    PutLogBucketRetention,
    PutOrganizationAggregator,
    PutOrganizationTrail,
    RemoveConfigRecorder,
    StartConfigRecorder,
    StartTrailLogging,
    StopTrailLogging,
    VersionLogBucket,
)
from controller.state import MemberConfig, ObservedBucket, ObservedTrail

CLOUDTRAIL = "cloudtrail.amazonaws.com"
CONFIG = "config.amazonaws.com"


@dataclass(frozen=True)
class DesiredLogging:
    """``spec.centralLogging``, the log archive account resolved to its id."""

    account_id: str
    bucket: str
    home_region: str = "us-east-1"
    retention_days: int | None = None
    trail: str | None = "organization-trail"  # None: cloudTrail.enabled false
    regions: tuple[str, ...] = ()  # empty: config.enabled false
    aggregator: str = "organization-aggregator"

    @property
    def config_enabled(self) -> bool:
        return bool(self.regions)


@dataclass(frozen=True)
class ObservedLogging:
    """What the management and log archive accounts hold. ``bucket`` None: the log archive account could not be
    read (``archive_error``, ``archive_waiting`` while its role is not assumable). ``config``: per member account,
    what AWS Config holds there (None: not looked at yet). ``compliant_before``: accounts whose Config was as
    declared when last seen; ``was_synced``: the trail, bucket and aggregator were as declared before (a
    difference now is drift, not new work)."""

    organization_id: str
    management_id: str
    bucket: ObservedBucket | None = None
    archive_error: str | None = None
    archive_waiting: bool = False
    trail: ObservedTrail | None = None
    aggregator_arn: str | None = None
    config: Mapping[str, MemberConfig | None] = field(default_factory=dict)
    compliant_before: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LoggingPlan:
    actions: tuple[Action, ...] = ()
    fresh: tuple[Action, ...] = ()
    differences: tuple[Difference, ...] = ()
    blocked: Blocked | None = None


def trail_arn(desired: DesiredLogging, management_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:cloudtrail:{desired.home_region}:{management_id}:trail/{desired.trail}"


def bucket_policy(desired: DesiredLogging, organization_id: str, management_id: str) -> dict[str, Any]:
    """The log bucket's policy: CloudTrail for this organization's trail (aws:SourceArn), AWS Config of this
    organization's accounts (aws:SourceOrgID); nobody else. The statements follow the CloudTrail user guide
    ("Amazon S3 bucket policy for CloudTrail", organization trails) and the AWS Config developer guide
    ("Permissions for the Amazon S3 Bucket for the AWS Config Delivery Channel")."""
    bucket = f"arn:aws:s3:::{desired.bucket}"
    acl = {"s3:x-amz-acl": "bucket-owner-full-control"}
    statements: list[dict[str, Any]] = []
    if desired.trail is not None:
        source = {"aws:SourceArn": trail_arn(desired, management_id)}
        statements += [
            {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": CLOUDTRAIL},
             "Action": "s3:GetBucketAcl", "Resource": bucket, "Condition": {"StringEquals": source}},
            {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": CLOUDTRAIL},
             "Action": "s3:PutObject", "Resource": [f"{bucket}/AWSLogs/{management_id}/*",
                                                   f"{bucket}/AWSLogs/{organization_id}/*"],
             "Condition": {"StringEquals": {**acl, **source}}},
        ]
    if desired.config_enabled:
        org = {"aws:SourceOrgID": organization_id}
        statements += [
            {"Sid": "AWSConfigBucketPermissionsCheck", "Effect": "Allow", "Principal": {"Service": CONFIG},
             "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": bucket, "Condition": {"StringEquals": org}},
            {"Sid": "AWSConfigBucketDelivery", "Effect": "Allow", "Principal": {"Service": CONFIG},
             "Action": "s3:PutObject", "Resource": f"{bucket}/AWSLogs/*/Config/*",
             "Condition": {"StringEquals": {**acl, **org}}},
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def _canonical(policy: str | Mapping[str, Any] | None) -> Any:
    if policy is None:
        return None
    try:
        parsed = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return policy

    def norm(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: norm(v) for k, v in value.items() if k != "Sid"}
        if isinstance(value, list):
            items = [norm(v) for v in value]
            return items[0] if len(items) == 1 else sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
        return value

    return norm(parsed)


def policy_text(policy: Mapping[str, Any]) -> str:
    return json.dumps(policy, separators=(",", ":"))


def check_logging(desired: DesiredLogging, trusted_services: tuple[str, ...], admin_accounts: frozenset[str],
                  management_id: str) -> str | None:
    """A refusal (InvalidSpec) beyond the schema, or None."""
    problems = []
    if desired.account_id == management_id:
        problems.append(f"spec.centralLogging.accountRef: {management_id} is the management account; the log "
                        "archive is a member account (e.g. Shared Services), so that the management account's "
                        "administrators cannot erase the evidence")
    if desired.trail is not None and CLOUDTRAIL not in trusted_services:
        problems.append(f"spec.centralLogging.cloudTrail: an organization trail needs trusted access for CloudTrail; "
                        f"add {CLOUDTRAIL!r} to spec.trustedServices (or set cloudTrail.enabled: false)")
    if desired.config_enabled and CONFIG not in trusted_services:
        problems.append(f"spec.centralLogging.config: the organization aggregator needs trusted access for Config; "
                        f"add {CONFIG!r} to spec.trustedServices (or set config.enabled: false)")
    elif desired.config_enabled and desired.account_id not in admin_accounts:
        problems.append(f"spec.centralLogging.config: AWS creates an organization aggregator only in the management "
                        f"account or in Config's delegated administrator; add the log archive account "
                        f"({desired.account_id}) to spec.delegatedAdministrators for {CONFIG!r}")
    return "; ".join(problems) or None


def plan_logging(desired: DesiredLogging, observed: ObservedLogging) -> LoggingPlan:
    actions: list[Action] = []
    fresh: list[Action] = []
    diffs: list[Difference] = []
    bucket = observed.bucket
    if bucket is None:  # the log archive account is not reachable yet: nothing can be set up
        return LoggingPlan()
    if bucket.taken and not bucket.owned:
        return LoggingPlan(blocked=Blocked(
            "BucketNameTaken", f"spec.centralLogging.bucketName: bucket {desired.bucket!r} belongs to another AWS "
            f"account (S3 bucket names are global across AWS), so it cannot be created in the log archive account "
            f"{desired.account_id}; choose another name", retry=False))
    where = (desired.account_id, desired.home_region, desired.bucket)
    if not bucket.owned:
        actions += [CreateLogBucket(*where), EncryptLogBucket(*where), VersionLogBucket(*where),
                    BlockLogBucketPublicAccess(*where)]
        if desired.retention_days is not None:
            actions.append(PutLogBucketRetention(*where, desired.retention_days))
        actions.append(PutLogBucketPolicy(*where, policy_text(bucket_policy(desired, observed.organization_id,
                                                                            observed.management_id))))
        diffs.append(Difference("centralLogging.bucket", desired.bucket, None))
    else:
        _plan_bucket(desired, observed, bucket, actions, diffs)
    _plan_trail(desired, observed, actions, diffs)
    for account_id, found in sorted(observed.config.items()):
        if found is None or found.error is not None or not desired.config_enabled:
            continue
        work, differences = plan_recorders(desired, found)
        actions += work
        if account_id in observed.compliant_before or not any(isinstance(a, PutConfigRecorder) for a in work):
            diffs += differences
        else:
            fresh += work  # an account that never had its recorder (new or adopted): new work
    if desired.config_enabled and observed.aggregator_arn is None:
        actions.append(PutOrganizationAggregator(desired.account_id, desired.home_region, desired.aggregator))
        diffs.append(Difference("centralLogging.aggregator", desired.aggregator, None))
    return LoggingPlan(tuple(actions), tuple(fresh), tuple(diffs))


def _plan_bucket(desired: DesiredLogging, observed: ObservedLogging, bucket: ObservedBucket, actions: list[Action],
                 diffs: list[Difference]) -> None:
    where = (desired.account_id, desired.home_region, desired.bucket)
    prefix = "centralLogging.bucket"
    if not bucket.encrypted:
        actions.append(EncryptLogBucket(*where))
        diffs.append(Difference(f"{prefix}.encryption", "AES256", None))
    if not bucket.versioned:
        actions.append(VersionLogBucket(*where))
        diffs.append(Difference(f"{prefix}.versioning", "Enabled", None))
    if not bucket.public_access_blocked:
        actions.append(BlockLogBucketPublicAccess(*where))
        diffs.append(Difference(f"{prefix}.publicAccessBlock", "all blocked", "not all blocked"))
    if desired.retention_days is not None and bucket.expiration_days != desired.retention_days:
        actions.append(PutLogBucketRetention(*where, desired.retention_days))
        diffs.append(Difference(f"{prefix}.retentionDays", str(desired.retention_days),
                                str(bucket.expiration_days) if bucket.expiration_days is not None else None))
    wanted = bucket_policy(desired, observed.organization_id, observed.management_id)
    if _canonical(bucket.policy) != _canonical(wanted):
        actions.append(PutLogBucketPolicy(*where, policy_text(wanted)))
        diffs.append(Difference(f"{prefix}.policy", policy_text(wanted), bucket.policy))


def _plan_trail(desired: DesiredLogging, observed: ObservedLogging, actions: list[Action],
                diffs: list[Difference]) -> None:
    if desired.trail is None:
        return
    trail = observed.trail
    if trail is None:
        actions += [PutOrganizationTrail(desired.home_region, desired.trail, desired.bucket),
                    StartTrailLogging(desired.home_region, desired.trail)]
        diffs.append(Difference("centralLogging.trail", desired.trail, None))
        return
    wrong = [name for name, ok in (("bucket", trail.bucket == desired.bucket), ("isOrganizationTrail",
                                   trail.organization), ("isMultiRegionTrail", trail.multi_region),
                                   ("logFileValidation", trail.log_file_validation)) if not ok]
    if wrong:
        actions.append(PutOrganizationTrail(desired.home_region, desired.trail, desired.bucket, exists=True))
        diffs.append(Difference("centralLogging.trail.settings", "organization, multi-region, log file validation, "
                                f"bucket {desired.bucket}", f"differs in {', '.join(wrong)}"))
    if not trail.logging:
        actions.append(StartTrailLogging(desired.home_region, desired.trail))
        diffs.append(Difference("centralLogging.trail.isLogging", "true", "false"))


def plan_recorders(desired: DesiredLogging, found: MemberConfig) -> tuple[list[Action], list[Difference]]:
    """AWS Config in one reachable member account: each listed region recording into the bucket."""
    actions: list[Action] = []
    diffs: list[Difference] = []
    for region in desired.regions:
        rec = found.regions.get(region)
        label = f"config[{found.account_id}/{region}]"
        if rec is None or rec.recorder is None or rec.channel_bucket != desired.bucket:
            actions.append(PutConfigRecorder(found.account_id, region, desired.bucket,
                                             rec.recorder if rec is not None else None))
            diffs.append(Difference(label, f"recording into {desired.bucket}",
                                    None if rec is None or rec.recorder is None
                                    else f"delivering to {rec.channel_bucket}"))
        elif not rec.recording:
            actions.append(StartConfigRecorder(found.account_id, region, rec.recorder))
            diffs.append(Difference(f"{label}.recording", "true", "false"))
    return actions, diffs


def config_verdict(desired: DesiredLogging, account_id: str, found: MemberConfig | None) -> Verdict:
    """Where one member account's AWS Config stands, from what was last seen (after the operator's writes)."""
    unreached = not_reached(account_id, "AWS Config", found)
    if unreached is not None or found is None:
        return unreached or Verdict(account_id, "pending", "NotObserved", "")
    work, diffs = plan_recorders(desired, found)
    if not work:
        return Verdict(account_id, "compliant", "Compliant", f"AWS Config records in {', '.join(desired.regions)}")
    stopped = all(isinstance(a, StartConfigRecorder) for a in work)
    return Verdict(account_id, "failed", "RecorderStopped" if stopped else "RecorderMissing",
                   "; ".join(f"{d.field}: {d.actual or 'no recorder'}" for d in diffs))


def combine(first: Verdict | None, second: Verdict | None) -> Verdict | None:
    """One account's baseline from two parts (access role, AWS Config): failed over pending over compliant."""
    if first is None or second is None:
        return first or second
    rank = {"failed": 0, "pending": 1, "compliant": 2}
    worst = min((first, second), key=lambda v: rank[v.state])
    if worst.state == "compliant":
        return Verdict(first.account_id, "compliant", "Compliant", f"{first.message}; {second.message}")
    return worst


def plan_logging_delete(desired: DesiredLogging, observed: ObservedLogging) -> tuple[Action, ...]:
    """Delete: what the object set up, in reverse order (aggregator, recorders, trail); never the bucket or its
    objects (logs are evidence)."""
    actions: list[Action] = []
    if observed.aggregator_arn is not None:
        actions.append(DeleteOrganizationAggregator(desired.account_id, desired.home_region, desired.aggregator))
    for account_id, found in sorted(observed.config.items()):
        for region in desired.regions:
            rec = found.regions.get(region) if found is not None else None
            if rec is not None and rec.recorder is not None and rec.channel_bucket == desired.bucket:
                actions.append(RemoveConfigRecorder(account_id, region, rec.recorder))
    if desired.trail is not None and observed.trail is not None:
        actions += [StopTrailLogging(desired.home_region, desired.trail),
                    DeleteOrganizationTrail(desired.home_region, desired.trail)]
    return tuple(actions)
