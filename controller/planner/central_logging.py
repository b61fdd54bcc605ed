"""Plan central logging: the log bucket, the organization trail, AWS Config everywhere, the aggregator. Pure.

Order as a person would do it by hand (after the organization's own settings: trusted access for CloudTrail and
Config and Config's delegated administrator come first in the Organization's plan):

1. the bucket in the log archive account and home region: created, encrypted (SSE-S3, or SSE-KMS with
   ``kmsKeyArn``), versioned (an overwritten or deleted log stays as a noncurrent version), Object Lock with
   ``objectLock``'s default retention, public access blocked, objects expired after ``retentionDays``, and a
   policy that admits CloudTrail and Config of this organization only (CloudTrail by the trail's ARN,
   ``aws:SourceArn``; Config by ``aws:SourceOrgID``) and denies every request without TLS;
2. the organization trail from the management account: multi-region, log file validation, all management events
   (read and write, no source excluded), logging started (AWS refuses it without the bucket policy:
   InsufficientS3BucketPolicyException);
3. AWS Config in every reachable member account and listed region: a recorder and a delivery channel into the
   bucket, recording (AWS refuses the channel without the bucket policy: InsufficientDeliveryPolicyException). An
   account whose role is not assumable yet (a new account) waits: no action, a pending verdict;
4. the organization aggregator in the log archive account (its delegated administrator for Config).

A bucket, trail, aggregator or recorder that differs after it was once as declared is drift; one missing from
an account never compliant is new work (``Plan.fresh``), carried out under ``AWSORG_DRIFT_POLICY=report`` too.

What is added by hand and only makes the evidence safer is left alone: an extra ``Deny`` statement of the bucket
policy (unless it denies CloudTrail or Config the writes they need, unconditionally), a lifecycle rule that
expires nothing before ``retentionDays`` (a transition, an abort of incomplete uploads), data event selectors of
the trail. An extra ``Allow`` statement, a rule that expires logs sooner (or at all, without ``retentionDays``)
and narrowed management events are drift, put back.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.api import limits
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
    LockLogBucket,
    PutConfigRecorder,
    PutLogBucketPolicy,
    PutLogBucketRetention,
    PutOrganizationAggregator,
    PutOrganizationTrail,
    PutTrailEventSelectors,
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
    object_lock: tuple[str, int] | None = None  # (GOVERNANCE or COMPLIANCE, days); None: not asked for
    kms_key: str | None = None  # SSE-KMS with this key ARN; None: SSE-S3

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
    ("Permissions for the Amazon S3 Bucket for the AWS Config Delivery Channel"); the TLS-only statement, the S3
    user guide ("Security best practices for Amazon S3": "explicitly deny access to HTTP requests ... using the
    aws:SecureTransport condition")."""
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
    statements.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": [bucket, f"{bucket}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
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


# A log archive apart from the management account does not, alone, keep the evidence from the management account's
# administrators: they can assume a role in every member account (OrganizationAccountAccessRole, the operator's own
# member role) and empty the bucket from there. What keeps the logs is versioning, the TLS-only policy and, above
# all, Object Lock in COMPLIANCE mode (no one, the root user included, can delete a locked version before its
# retention ends); the administrator's policy file (docs/operating.md) bounds what a merge may change.
def check_logging(desired: DesiredLogging, trusted_services: tuple[str, ...], admin_accounts: frozenset[str],
                  management_id: str) -> str | None:
    """A refusal (InvalidSpec) beyond the schema, or None."""
    problems = []
    if desired.account_id == management_id:
        problems.append(f"spec.centralLogging.accountRef: {management_id} is the management account; the log "
                        "archive is a member account (e.g. Shared Services), apart from the account whose actions "
                        "it records")
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
    key_problem = kms_key_problem(desired, observed.management_id, bucket.kms_key_policy)
    if key_problem is not None:
        return LoggingPlan(blocked=Blocked("KmsKeyPolicyInsufficient", key_problem, retry=True, slow=True))
    if bucket.taken and not bucket.owned:
        return LoggingPlan(blocked=Blocked(
            "BucketNameTaken", f"spec.centralLogging.bucketName: bucket {desired.bucket!r} belongs to another AWS "
            f"account (S3 bucket names are global across AWS), so it cannot be created in the log archive account "
            f"{desired.account_id}; choose another name", retry=False))
    where = (desired.account_id, desired.home_region, desired.bucket)
    if not bucket.owned:
        actions += [CreateLogBucket(*where), EncryptLogBucket(*where, desired.kms_key), VersionLogBucket(*where)]
        if desired.object_lock is not None:
            actions.append(LockLogBucket(*where, desired.object_lock[0], desired.object_lock[1]))
        actions.append(BlockLogBucketPublicAccess(*where))
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
    if not bucket.encrypted or bucket.kms_key != desired.kms_key:
        actions.append(EncryptLogBucket(*where, desired.kms_key))
        diffs.append(Difference(f"{prefix}.encryption", f"aws:kms {desired.kms_key}" if desired.kms_key else "AES256",
                                None if not bucket.encrypted else (f"aws:kms {bucket.kms_key}" if bucket.kms_key
                                                                   else "AES256")))
    if not bucket.versioned:
        actions.append(VersionLogBucket(*where))
        diffs.append(Difference(f"{prefix}.versioning", "Enabled", None))
    lock = desired.object_lock
    if lock is not None and (not bucket.object_lock_enabled or bucket.object_lock != lock):
        actions.append(LockLogBucket(*where, lock[0], lock[1]))
        diffs.append(Difference(f"{prefix}.objectLock", f"{lock[0]} {lock[1]} days",
                                f"{bucket.object_lock[0]} {bucket.object_lock[1]} days" if bucket.object_lock
                                else None))
    if not bucket.public_access_blocked:
        actions.append(BlockLogBucketPublicAccess(*where))
        diffs.append(Difference(f"{prefix}.publicAccessBlock", "all blocked", "not all blocked"))
    ours, kept, dropped = sort_lifecycle(desired.retention_days, bucket.lifecycle_rules)
    if (desired.retention_days is not None and not ours) or dropped:
        actions.append(PutLogBucketRetention(*where, desired.retention_days, kept, existing=True,
                                             previous_days=bucket.expiration_days))
        shown = [str(desired.retention_days) if desired.retention_days is not None else "kept forever"]
        diffs.append(Difference(f"{prefix}.retentionDays", shown[0], "; ".join(dropped) if dropped else
                                (str(bucket.expiration_days) if bucket.expiration_days is not None else None)))
    wanted, extra = merged_policy(desired, observed.organization_id, observed.management_id, bucket.policy)
    if extra:
        actions.append(PutLogBucketPolicy(*where, policy_text(wanted)))
        diffs.append(Difference(f"{prefix}.policy", policy_text(wanted), bucket.policy))


def merged_policy(desired: DesiredLogging, organization_id: str, management_id: str,
                  found: str | None) -> tuple[dict[str, Any], bool]:
    """The policy to hold: the operator's statements and the ``Deny`` statements added by hand (unless one denies
    CloudTrail or Config what they need without a condition). True when ``found`` differs from it (a statement of
    the operator's missing, an extra ``Allow``, a ``Deny`` in the way)."""
    wanted = bucket_policy(desired, organization_id, management_id)
    required = [_canonical(s) for s in wanted["Statement"]]
    try:
        parsed = json.loads(found) if found else None
    except ValueError:
        parsed = None
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    if not isinstance(statements, list):
        statements = [statements] if isinstance(statements, dict) else []
    kept: list[Any] = []
    differs = not isinstance(parsed, dict) or parsed.get("Version") != "2012-10-17"
    matched = []
    for stmt in statements:
        canon = _canonical(stmt)
        if canon in required:
            matched.append(canon)
        elif isinstance(stmt, dict) and stmt.get("Effect") == "Deny" and not _denies_delivery(stmt, desired):
            kept.append(stmt)
        else:
            differs = True
    if any(r not in matched for r in required):
        differs = True
    return {"Version": "2012-10-17", "Statement": wanted["Statement"] + kept}, differs


def _denies_delivery(stmt: Mapping[str, Any], desired: DesiredLogging) -> bool:
    """An unconditional Deny that covers what CloudTrail or Config write to the bucket (s3:PutObject,
    s3:GetBucketAcl) for everyone or for one of them."""
    if stmt.get("Condition") or "NotPrincipal" in stmt or "NotAction" in stmt or "NotResource" in stmt:
        return "NotAction" in stmt or "NotResource" in stmt  # those cover nearly everything: not trusted
    principal = stmt.get("Principal")
    services = principal.get("Service") if isinstance(principal, Mapping) else None
    aws = principal.get("AWS") if isinstance(principal, Mapping) else principal
    who = {str(p) for p in _items(services)} | {str(p) for p in _items(aws)}
    if not who & {"*", CLOUDTRAIL, CONFIG}:
        return False
    bucket = f"arn:aws:s3:::{desired.bucket}"
    needed = [("s3:putobject", f"{bucket}/AWSLogs/x"), ("s3:getbucketacl", bucket)]
    return any(any(fnmatch.fnmatchcase(action, str(a).lower()) for a in _items(stmt.get("Action")))
               and any(fnmatch.fnmatchcase(resource, str(r)) for r in _items(stmt.get("Resource")))
               for action, resource in needed)


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def sort_lifecycle(days: int | None, rules: tuple[str, ...]) -> tuple[bool, tuple[str, ...], list[str]]:
    """(the operator's rule is there, the rules added by hand that are kept, what the dropped ones do). The
    operator's rule expires every object and noncurrent version after ``days``. A rule added by hand is kept
    unless it expires objects or noncurrent versions sooner than that (with ``days`` None: at all), which would
    erase evidence the spec keeps; a disabled rule is kept (it does nothing)."""
    ours = False
    kept: list[str] = []
    dropped: list[str] = []
    for text in rules:
        try:
            rule = json.loads(text)
        except ValueError:
            continue
        if not isinstance(rule, dict):
            continue
        expiration = rule.get("Expiration") or {}
        noncurrent = (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
        scope = rule.get("Filter", {"Prefix": rule.get("Prefix", "")})
        enabled = rule.get("Status") == "Enabled"
        if (days is not None and not ours and enabled and scope in ({}, {"Prefix": ""})
                and expiration == {"Days": days} and noncurrent == days):
            ours = True
            continue
        current = expiration.get("Days")
        sooner = "Date" in expiration or (current is not None and (days is None or int(current) < days)) or (
            noncurrent is not None and (days is None or int(noncurrent) < days))
        if enabled and sooner:
            when = (f"on {expiration['Date']}" if "Date" in expiration
                    else f"after {current if current is not None else noncurrent} days")
            dropped.append(f"rule {rule.get('ID', '?')!r} expires logs {when}")
        else:
            kept.append(text)
    return ours, tuple(kept), dropped


def kms_key_problem(desired: DesiredLogging, management_id: str, key_policy: str | None) -> str | None:
    """What the KMS key's policy lacks for CloudTrail and Config to write SSE-KMS objects into the bucket (None:
    nothing, or the policy could not be read). docs/operating.md shows the statements."""
    if desired.kms_key is None or key_policy is None:
        return None
    try:
        parsed = json.loads(key_policy)
    except ValueError:
        return None
    statements = [s for s in _items(parsed.get("Statement")) if isinstance(s, Mapping) and s.get("Effect") == "Allow"]
    needed = ([(CLOUDTRAIL, "kms:GenerateDataKey")] if desired.trail is not None else []) + (
        [(CONFIG, "kms:GenerateDataKey"), (CONFIG, "kms:Decrypt")] if desired.config_enabled else [])
    missing = []
    for service, action in needed:
        if not any(service in [str(p) for p in _items((s.get("Principal") or {}).get("Service")
                                                      if isinstance(s.get("Principal"), Mapping) else None)]
                   and any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in _items(s.get("Action")))
                   for s in statements):
            missing.append(f"{action} for {service}")
    if not missing:
        return None
    return (f"spec.centralLogging.kmsKeyArn: the policy of key {desired.kms_key} does not allow "
            f"{', '.join(missing)}; without it CloudTrail and Config cannot write encrypted logs into the bucket "
            "(add the statements shown in docs/operating.md, \"The log bucket's KMS key\")")


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
        actions.append(PutOrganizationTrail(desired.home_region, desired.trail, desired.bucket, exists=True,
                                            previous_bucket=trail.bucket))
        diffs.append(Difference("centralLogging.trail.settings", "organization, multi-region, log file validation, "
                                f"bucket {desired.bucket}", f"differs in {', '.join(wrong)}"))
    selectors = management_selectors(trail.selectors)
    if selectors is not None:
        actions.append(PutTrailEventSelectors(desired.home_region, desired.trail, selectors))
        diffs.append(Difference("centralLogging.trail.eventSelectors", "management events, read and write, no "
                                "source excluded", trail.selectors))
    if not trail.logging:
        actions.append(StartTrailLogging(desired.home_region, desired.trail))
        diffs.append(Difference("centralLogging.trail.isLogging", "true", "false"))


MANAGEMENT_FIELDS: list[dict[str, Any]] = [{"Field": "eventCategory", "Equals": ["Management"]}]
MANAGEMENT_SELECTOR: dict[str, Any] = {"Name": "Management events", "FieldSelectors": MANAGEMENT_FIELDS}


def management_selectors(found: str | None) -> str | None:
    """None when the trail's event selectors (GetEventSelectors, as JSON) log every management event, read and
    write, no source excluded; otherwise the PutEventSelectors arguments (JSON) that do, keeping the data event
    selectors there. Basic selectors: one with IncludeManagementEvents, ReadWriteType All and no
    ExcludeManagementEventSources. Advanced: one whose only field selector is eventCategory = Management."""
    if found is None:
        return None
    try:
        seen = json.loads(found)
    except ValueError:
        seen = {}
    advanced = [s for s in _items(seen.get("AdvancedEventSelectors")) if isinstance(s, dict)]
    if advanced:
        def management(sel: Mapping[str, Any]) -> bool:
            return any(f.get("Field") == "eventCategory" and "Management" in _items(f.get("Equals"))
                       for f in _items(sel.get("FieldSelectors")) if isinstance(f, Mapping))

        if any(_canonical({"f": _items(s.get("FieldSelectors"))}) == _canonical({"f": MANAGEMENT_FIELDS})
               for s in advanced):
            return None
        return policy_text({"AdvancedEventSelectors": [s for s in advanced if not management(s)]
                            + [MANAGEMENT_SELECTOR]})
    basic = [s for s in _items(seen.get("EventSelectors")) if isinstance(s, dict)]
    if any(s.get("IncludeManagementEvents") is True and s.get("ReadWriteType", "All") == "All"
           and not s.get("ExcludeManagementEventSources") for s in basic):
        return None
    data = [{**{k: v for k, v in s.items() if k != "ExcludeManagementEventSources"}, "IncludeManagementEvents": False}
            for s in basic if s.get("DataResources")]
    return policy_text({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}, *data]})


def records_management_writes(trail: ObservedTrail) -> bool:
    """Whether the trail (logging, and covering us-east-1) records AWS Organizations' write calls, which CloudTrail
    then hands EventBridge: "To record events with a detail-type value of AWS API Call via CloudTrail, a CloudTrail
    trail with logging enabled is required" (EventBridge user guide, "Events from AWS services"). Its selectors
    (GetEventSelectors, as JSON) select management events, read and write or write only; none at all is
    CloudTrail's default (all management events)."""
    if not trail.logging:
        return False
    try:
        seen = json.loads(trail.selectors or "{}")
    except ValueError:
        seen = {}
    basic = [s for s in _items(seen.get("EventSelectors")) if isinstance(s, Mapping)]
    advanced = [s for s in _items(seen.get("AdvancedEventSelectors")) if isinstance(s, Mapping)]
    if not basic and not advanced:
        return True
    if any(s.get("IncludeManagementEvents", True) is True and s.get("ReadWriteType", "All") in ("All", "WriteOnly")
           and "organizations.amazonaws.com" not in _items(s.get("ExcludeManagementEventSources")) for s in basic):
        return True
    for sel in advanced:
        fields = {str(f.get("Field")): _items(f.get("Equals")) for f in _items(sel.get("FieldSelectors"))
                  if isinstance(f, Mapping)}
        if "Management" in fields.get("eventCategory", []) and [str(v).lower() for v in fields.get(
                "readOnly", [])] in ([], ["false"]):
            return True
    return False


def global_region(desired: DesiredLogging) -> str | None:
    """The one region whose recorder records the global IAM resource types (includeGlobalResourceTypes): the
    first listed region where Config can record them (limits.CONFIG_REGIONS_WITHOUT_GLOBAL_TYPES); every other
    region leaves them out, so each IAM user, group, role and policy is recorded once, not once per region."""
    return next((r for r in desired.regions if r not in limits.CONFIG_REGIONS_WITHOUT_GLOBAL_TYPES), None)


def plan_recorders(desired: DesiredLogging, found: MemberConfig) -> tuple[list[Action], list[Difference]]:
    """AWS Config in one reachable member account: each listed region recording into the bucket."""
    actions: list[Action] = []
    diffs: list[Difference] = []
    for region in desired.regions:
        rec = found.regions.get(region)
        label = f"config[{found.account_id}/{region}]"
        if rec is None or rec.recorder is None or rec.channel_bucket != desired.bucket:
            actions.append(PutConfigRecorder(found.account_id, region, desired.bucket,
                                             rec.recorder if rec is not None else None,
                                             global_resources=region == global_region(desired),
                                             previous_bucket=rec.channel_bucket if rec is not None else None))
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
        failing = [(region, rec.failure) for region in desired.regions
                   if (rec := found.regions.get(region)) is not None and rec.failure]
        if failing:
            return Verdict(account_id, "failed", "ConfigDeliveryFailing", "; ".join(
                f"AWS Config in account {account_id}, region {region}: {failure}" for region, failure in failing)
                + " (the log bucket's policy or key must let config.amazonaws.com write: docs/operating.md, "
                "\"Evidence that is not delivered\")")
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
