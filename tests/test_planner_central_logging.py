"""The central logging planner, table-driven: each case says why its answer is right."""

from __future__ import annotations

import json
from typing import Any

import pytest

from controller.planner.access_role import Verdict
from controller.planner.actions import (
    DeleteOrganizationAggregator,
    DeleteOrganizationTrail,
    PutConfigRecorder,
    PutLogBucketPolicy,
    PutLogBucketRetention,
    PutOrganizationTrail,
    PutTrailEventSelectors,
    RemoveConfigRecorder,
    StartTrailLogging,
    StopTrailLogging,
)
from controller.planner.central_logging import (
    MANAGEMENT_SELECTOR,
    DesiredLogging,
    ObservedLogging,
    bucket_policy,
    check_logging,
    combine,
    config_verdict,
    global_region,
    plan_logging,
    plan_logging_delete,
    plan_recorders,
    policy_text,
    records_management_writes,
)
from controller.state import MemberConfig, ObservedBucket, ObservedRecorder, ObservedTrail

ORG, MGMT, ARCHIVE, DEV = "o-abcdef1234", "123456789012", "210987654321", "333344445555"
R = "us-east-1"
D = DesiredLogging(ARCHIVE, "org-logs", R, 365, "org-trail", (R,), "org-agg")
POLICY = policy_text(bucket_policy(D, ORG, MGMT))
OURS = json.dumps({"ID": "awsorg-retention", "Status": "Enabled", "Filter": {"Prefix": ""},
                   "Expiration": {"Days": 365}, "NoncurrentVersionExpiration": {"NoncurrentDays": 365}})
GOOD_BUCKET = ObservedBucket("org-logs", owned=True, policy=POLICY, encrypted=True, public_access_blocked=True,
                             expiration_days=365, versioned=True, lifecycle_rules=(OURS,))
ALL_MANAGEMENT = json.dumps({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                                 "DataResources": [], "ExcludeManagementEventSources": []}]})
GOOD_TRAIL = ObservedTrail("org-trail", f"arn:aws:cloudtrail:{R}:{MGMT}:trail/org-trail", "org-logs", True, True, True,
                           True, ALL_MANAGEMENT)
AGG = f"arn:aws:config:{R}:{ARCHIVE}:config-aggregator/config-aggregator-x"
RECORDING = MemberConfig(DEV, {R: ObservedRecorder(R, "default", True, "org-logs")})


HAND_DENY = {"Sid": "SecurityTeamDenyDelete", "Effect": "Deny", "Principal": "*",
             "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration"],
             "Resource": ["arn:aws:s3:::org-logs", "arn:aws:s3:::org-logs/*"],
             "Condition": {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}}
HAND_ALLOW = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:GetObject",
              "Resource": "arn:aws:s3:::org-logs/*"}
GLACIER = json.dumps({"ID": "to-glacier", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
                      "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}]})
SHORT = json.dumps({"ID": "cleanup", "Status": "Enabled", "Filter": {"Prefix": "AWSLogs/"},
                    "Expiration": {"Days": 7}})
S3_DATA = {"Name": "s3", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]},
                                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}


def with_statements(*extra: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": json.loads(POLICY)["Statement"] + list(extra)})


def observed(**over: Any) -> ObservedLogging:
    base: dict[str, Any] = dict(organization_id=ORG, management_id=MGMT, bucket=GOOD_BUCKET, trail=GOOD_TRAIL,
                                aggregator_arn=AGG, config={DEV: RECORDING}, compliant_before=frozenset({DEV}))
    return ObservedLogging(**{**base, **over})


def kinds(actions: Any) -> list[str]:
    return [type(a).__name__ for a in actions]


CASES = [
    ("nothing yet: bucket (with its settings and policy) before the trail, recorders, then the aggregator",
     observed(bucket=ObservedBucket("org-logs"), trail=None, aggregator_arn=None,
              config={DEV: MemberConfig(DEV, {R: ObservedRecorder(R)})}, compliant_before=frozenset()),
     ["CreateLogBucket", "EncryptLogBucket", "VersionLogBucket", "BlockLogBucketPublicAccess", "PutLogBucketRetention",
      "PutLogBucketPolicy", "PutOrganizationTrail", "StartTrailLogging", "PutConfigRecorder",
      "PutOrganizationAggregator"]),
    ("all as declared: nothing to do", observed(), []),
    ("the trail stopped behind the operator's back: started again",
     observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "logging": False})), ["StartTrailLogging"]),
    ("the trail deleted: created and started",
     observed(trail=None), ["PutOrganizationTrail", "StartTrailLogging"]),
    ("the trail turned single-region: updated",
     observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "multi_region": False})), ["PutOrganizationTrail"]),
    ("the bucket policy widened: put back",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "policy": json.dumps(
         {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                  "Resource": "arn:aws:s3:::org-logs/*"}]})})),
     ["PutLogBucketPolicy"]),
    ("the same policy with another Sid and single-item lists: no change (compared by meaning)",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "policy": POLICY.replace(
         '"Sid":"AWSCloudTrailWrite"', '"Sid":"Other"').replace('"Action":"s3:PutObject"',
                                                                 '"Action":["s3:PutObject"]')})), []),
    ("encryption, public access block and retention lost: each put back",
     observed(bucket=ObservedBucket("org-logs", owned=True, policy=POLICY, versioned=True)),
     ["EncryptLogBucket", "BlockLogBucketPublicAccess", "PutLogBucketRetention"]),
    ("versioning never turned on, or suspended, on a bucket that is otherwise as declared: turned on",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "versioned": False})), ["VersionLogBucket"]),
    ("a Deny statement added by hand (stricter): left alone",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "policy": with_statements(HAND_DENY)})), []),
    ("an Allow statement added by hand (wider): the policy put back, without it",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "policy": with_statements(HAND_ALLOW)})),
     ["PutLogBucketPolicy"]),
    ("a Deny added by hand that shuts CloudTrail out without a condition: removed (the trail needs the writes)",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "policy": with_statements(
         {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::org-logs/*"})})),
     ["PutLogBucketPolicy"]),
    ("the TLS-only statement removed by hand: put back",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "policy": json.dumps({"Version": "2012-10-17",
         "Statement": [s for s in json.loads(POLICY)["Statement"] if s["Effect"] == "Allow"]})})),
     ["PutLogBucketPolicy"]),
    ("a lifecycle rule added by hand that expires nothing sooner (a transition to Glacier): left alone",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "lifecycle_rules": (OURS, GLACIER)})), []),
    ("a lifecycle rule added by hand that expires logs after 7 days: removed (evidence the spec keeps 365 days)",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "lifecycle_rules": (OURS, GLACIER, SHORT)})),
     ["PutLogBucketRetention"]),
    ("versioning suspended by hand: turned on again",
     observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "versioned": False})), ["VersionLogBucket"]),
    ("the trail's management events narrowed to write-only: put back",
     observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "selectors": json.dumps({"EventSelectors": [
         {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]})})), ["PutTrailEventSelectors"]),
    ("the trail's management events turned off: put back",
     observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "selectors": json.dumps({"EventSelectors": [
         {"ReadWriteType": "All", "IncludeManagementEvents": False}]})})), ["PutTrailEventSelectors"]),
    ("KMS events excluded from the trail: put back",
     observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "selectors": json.dumps({"EventSelectors": [
         {"ReadWriteType": "All", "IncludeManagementEvents": True,
          "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]})})), ["PutTrailEventSelectors"]),
    ("advanced selectors with all management events and data events added: left alone",
     observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "selectors": json.dumps({"AdvancedEventSelectors": [
         {"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}, S3_DATA]})})), []),
    ("advanced selectors with management read-only events only: put back",
     observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "selectors": json.dumps({"AdvancedEventSelectors": [
         {"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                          {"Field": "readOnly", "Equals": ["true"]}]}]})})),
     ["PutTrailEventSelectors"]),
    ("the trail's selectors not read (a dry run's own trail): nothing planned for them",
     observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "selectors": None})), []),
    ("a recorder stopped: started (not recreated)",
     observed(config={DEV: MemberConfig(DEV, {R: ObservedRecorder(R, "default", False, "org-logs")})}),
     ["StartConfigRecorder"]),
    ("a delivery channel into another bucket: pointed back",
     observed(config={DEV: MemberConfig(DEV, {R: ObservedRecorder(R, "default", True, "elsewhere")})}),
     ["PutConfigRecorder"]),
    ("an account whose role is not assumable yet: a wait, no action",
     observed(config={DEV: MemberConfig(DEV, error="AssumeRole refused", waiting=True)}), []),
    ("an account not looked at yet: no action", observed(config={DEV: None}), []),
    ("the log archive account not reachable: nothing planned (the bucket comes first)",
     observed(bucket=None, trail=None, aggregator_arn=None), []),
    ("the aggregator deleted: created again", observed(aggregator_arn=None), ["PutOrganizationAggregator"]),
]


@pytest.mark.parametrize(("why", "seen", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_plan(why: str, seen: ObservedLogging, expected: list[str]) -> None:
    plan = plan_logging(D, seen)
    assert kinds(plan.actions) == expected, why
    assert plan.blocked is None


def test_drift_is_named_by_field() -> None:
    plan = plan_logging(D, observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "logging": False}),
                                    config={DEV: MemberConfig(DEV, {R: ObservedRecorder(R, "default", False,
                                                                                        "org-logs")})}))
    assert [d.field for d in plan.differences] == ["centralLogging.trail.isLogging", f"config[{DEV}/{R}].recording"]
    assert plan.fresh == ()  # corrections, not new work: left alone under report


def test_a_new_account_s_recorder_is_new_work_not_drift() -> None:
    plan = plan_logging(D, observed(config={DEV: MemberConfig(DEV, {R: ObservedRecorder(R)})},
                                    compliant_before=frozenset()))
    assert kinds(plan.fresh) == ["PutConfigRecorder"] and plan.differences == ()


def test_a_recorder_gone_from_a_compliant_account_is_drift() -> None:
    plan = plan_logging(D, observed(config={DEV: MemberConfig(DEV, {R: ObservedRecorder(R)})}))
    assert kinds(plan.actions) == ["PutConfigRecorder"] and plan.fresh == ()
    assert [d.field for d in plan.differences] == [f"config[{DEV}/{R}]"]


def test_a_bucket_name_taken_elsewhere_is_a_clear_refusal_not_a_retry() -> None:
    plan = plan_logging(D, observed(bucket=ObservedBucket("org-logs", taken=True), trail=None))
    assert plan.blocked is not None and plan.blocked.reason == "BucketNameTaken" and not plan.blocked.retry
    assert "spec.centralLogging.bucketName" in plan.blocked.message and "another name" in plan.blocked.message
    assert plan.actions == ()


def test_every_region_listed_gets_a_recorder() -> None:
    two = DesiredLogging(ARCHIVE, "org-logs", R, None, "org-trail", (R, "eu-west-1"), "org-agg")
    policy = policy_text(bucket_policy(two, ORG, MGMT))
    plan = plan_logging(two, observed(bucket=ObservedBucket(**{**GOOD_BUCKET.__dict__, "policy": policy,
                                                             "lifecycle_rules": ()})))
    assert plan.actions == (PutConfigRecorder(DEV, "eu-west-1", "org-logs", None),)


def test_the_policy_admits_cloudtrail_by_the_trail_arn_and_config_by_the_organization() -> None:
    policy = bucket_policy(D, ORG, MGMT)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["AWSCloudTrailWrite"]["Condition"]["StringEquals"]["aws:SourceArn"] == (
        f"arn:aws:cloudtrail:{R}:{MGMT}:trail/org-trail")
    assert set(by_sid["AWSCloudTrailWrite"]["Resource"]) == {f"arn:aws:s3:::org-logs/AWSLogs/{MGMT}/*",
                                                             f"arn:aws:s3:::org-logs/AWSLogs/{ORG}/*"}
    assert by_sid["AWSConfigBucketDelivery"]["Condition"]["StringEquals"]["aws:SourceOrgID"] == ORG
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert all(s["Principal"] != "*" for s in allows) and len(allows) == 4
    # The one Deny: every request without TLS, whoever makes it.
    (deny,) = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Action"] == "s3:*" and set(deny["Resource"]) == {"arn:aws:s3:::org-logs", "arn:aws:s3:::org-logs/*"}
    no_trail = bucket_policy(DesiredLogging(ARCHIVE, "org-logs", trail=None, regions=(R,)), ORG, MGMT)
    assert {s["Sid"] for s in no_trail["Statement"]} == {"AWSConfigBucketPermissionsCheck", "AWSConfigBucketDelivery",
                                                        "DenyInsecureTransport"}


@pytest.mark.parametrize(("why", "trusted", "admins", "account", "expected"), [
    ("everything in place", ("cloudtrail.amazonaws.com", "config.amazonaws.com"), {ARCHIVE}, ARCHIVE, None),
    ("no trusted access for CloudTrail", ("config.amazonaws.com",), {ARCHIVE}, ARCHIVE,
     "trusted access for CloudTrail"),
    ("no trusted access for Config", ("cloudtrail.amazonaws.com",), {ARCHIVE}, ARCHIVE, "trusted access for Config"),
    ("the log archive is not Config's delegated administrator", ("cloudtrail.amazonaws.com", "config.amazonaws.com"),
     set(), ARCHIVE, "spec.delegatedAdministrators"),
    ("the management account as the log archive", ("cloudtrail.amazonaws.com", "config.amazonaws.com"), {MGMT},
     MGMT, "is the management account"),
])
def test_check(why: str, trusted: tuple[str, ...], admins: set[str], account: str, expected: str | None) -> None:
    desired = DesiredLogging(account, "org-logs", R, None, "org-trail", (R,), "org-agg")
    refusal = check_logging(desired, trusted, frozenset(admins), MGMT)
    assert (refusal is None) if expected is None else (refusal is not None and expected in refusal), why


@pytest.mark.parametrize(("why", "found", "state", "reason"), [
    ("recording into the bucket", RECORDING, "compliant", "Compliant"),
    ("not looked at yet", None, "pending", "NotObserved"),
    ("role not assumable yet (a new account)", MemberConfig(DEV, error="refused", waiting=True), "pending",
     "WaitingForAccountAccess"),
    ("a read failed", MemberConfig(DEV, error="DescribeDeliveryChannels: AccessDenied"), "failed", "BaselineFailed"),
    ("stopped", MemberConfig(DEV, {R: ObservedRecorder(R, "default", False, "org-logs")}), "failed",
     "RecorderStopped"),
    ("none", MemberConfig(DEV, {R: ObservedRecorder(R)}), "failed", "RecorderMissing"),
    ("recording, but its delivery channel's last delivery failed (DescribeDeliveryChannelStatus)",
     MemberConfig(DEV, {R: ObservedRecorder(R, "default", True, "org-logs", "delivery failed (AccessDenied)")}),
     "failed", "ConfigDeliveryFailing"),
    ("stopped and failing: the stop is what the operator can mend first",
     MemberConfig(DEV, {R: ObservedRecorder(R, "default", False, "org-logs", "delivery failed")}), "failed",
     "RecorderStopped"),
])
def test_config_verdict(why: str, found: MemberConfig | None, state: str, reason: str) -> None:
    got = config_verdict(D, DEV, found)
    assert (got.state, got.reason) == (state, reason), why


def test_combine_takes_the_worse_part() -> None:
    ok, wait, bad = (Verdict(DEV, "compliant", "Compliant", "a"), Verdict(DEV, "pending", "W", "b"),
                     Verdict(DEV, "failed", "F", "c"))
    assert combine(ok, wait) == wait and combine(wait, bad) == bad and combine(None, ok) == ok
    assert combine(ok, ok).state == "compliant"  # type: ignore[union-attr]


def test_delete_in_reverse_order_and_never_the_bucket() -> None:
    actions = plan_logging_delete(D, observed())
    assert actions == (DeleteOrganizationAggregator(ARCHIVE, R, "org-agg"), RemoveConfigRecorder(DEV, R, "default"),
                       StopTrailLogging(R, "org-trail"), DeleteOrganizationTrail(R, "org-trail"))
    # A recorder delivering elsewhere was not set up by this object: left alone.
    other = observed(config={DEV: MemberConfig(DEV, {R: ObservedRecorder(R, "mine", True, "their-bucket")})})
    assert not any(isinstance(a, RemoveConfigRecorder) for a in plan_logging_delete(D, other))


@pytest.mark.parametrize(("why", "spec", "expected"), [
    ("complete", {}, None),
    ("no trusted access for CloudTrail", {"trustedServices": ["config.amazonaws.com"]},
     "add 'cloudtrail.amazonaws.com' to spec.trustedServices"),
    ("CloudTrail off: no trusted access needed for it",
     {"trustedServices": ["config.amazonaws.com"], "centralLogging": {"cloudTrail": {"enabled": False}}}, None),
    ("the log archive is not Config's delegated administrator", {"delegatedAdministrators": []},
     "servicePrincipal: config.amazonaws.com} to spec.delegatedAdministrators"),
    ("consolidated billing only", {"featureSet": "CONSOLIDATED_BILLING", "trustedServices": [],
                                   "delegatedAdministrators": []}, "spec.centralLogging: needs featureSet ALL"),
])
def test_the_organization_refuses_a_central_logging_aws_would_refuse(why: str, spec: dict[str, Any],
                                                                      expected: str | None) -> None:
    from controller.api.models import OrganizationSpec
    from controller.reconciler.organization import OrganizationAdapter

    logging = {"accountRef": {"name": "log-archive"}, "bucketName": "org-logs", **spec.pop("centralLogging", {})}
    full = {"trustedServices": ["cloudtrail.amazonaws.com", "config.amazonaws.com"],
            "delegatedAdministrators": [{"accountRef": {"name": "log-archive"},
                                         "servicePrincipal": "config.amazonaws.com"}],
            "centralLogging": logging, **spec}
    refusal = OrganizationAdapter().check("organization", OrganizationSpec.model_validate(full), {})
    assert (refusal is None) if expected is None else (refusal is not None and expected in refusal), (why, refusal)


def test_what_is_put_back_keeps_what_was_added_by_hand_and_safe() -> None:
    """The corrective writes carry the hand-added Deny and the kept lifecycle rule; the wider ones go."""
    bucket = ObservedBucket(**{**GOOD_BUCKET.__dict__, "policy": with_statements(HAND_DENY, HAND_ALLOW),
                               "lifecycle_rules": (GLACIER, SHORT)})
    plan = plan_logging(D, observed(bucket=bucket))
    retention = next(a for a in plan.actions if isinstance(a, PutLogBucketRetention))
    assert (retention.days, retention.kept) == (365, (GLACIER,))
    policy = json.loads(next(a for a in plan.actions if isinstance(a, PutLogBucketPolicy)).policy)
    assert HAND_DENY in policy["Statement"] and HAND_ALLOW not in policy["Statement"]
    assert [d.field for d in plan.differences] == ["centralLogging.bucket.retentionDays",
                                                   "centralLogging.bucket.policy"]
    assert "'cleanup' expires logs after 7 days" in plan.differences[0].actual  # type: ignore[operator]


def test_without_retention_days_no_rule_may_expire_logs() -> None:
    """retentionDays absent means kept forever: a rule expiring logs is removed, the rest kept; none left: the
    lifecycle configuration is deleted."""
    forever = DesiredLogging(ARCHIVE, "org-logs", R, None, "org-trail", (R,), "org-agg")
    bucket = ObservedBucket(**{**GOOD_BUCKET.__dict__, "lifecycle_rules": (OURS, GLACIER)})
    (action,) = plan_logging(forever, observed(bucket=bucket)).actions
    assert action == PutLogBucketRetention(ARCHIVE, R, "org-logs", None, (GLACIER,), existing=True, previous_days=365)
    clean = ObservedBucket(**{**GOOD_BUCKET.__dict__, "lifecycle_rules": (GLACIER,)})
    assert plan_logging(forever, observed(bucket=clean)).actions == ()


def test_narrowed_selectors_are_put_back_with_the_data_events_there() -> None:
    basic = json.dumps({"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
                                            "DataResources": [{"Type": "AWS::S3::Object",
                                                               "Values": ["arn:aws:s3"]}]}]})
    plan = plan_logging(D, observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__, "selectors": basic})))
    (action,) = plan.actions
    assert isinstance(action, PutTrailEventSelectors)
    assert json.loads(action.selectors) == {"EventSelectors": [
        {"ReadWriteType": "All", "IncludeManagementEvents": True},
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": False,
         "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]}
    advanced = json.dumps({"AdvancedEventSelectors": [
        {"Name": "m", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                         {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]}, S3_DATA]})
    (action,) = plan_logging(D, observed(trail=ObservedTrail(**{**GOOD_TRAIL.__dict__,
                                                                "selectors": advanced}))).actions
    assert json.loads(action.selectors)["AdvancedEventSelectors"] == [  # type: ignore[attr-defined]
        S3_DATA, {"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory",
                                                                   "Equals": ["Management"]}]}]


LOCKED = DesiredLogging(ARCHIVE, "org-logs", R, 365, "org-trail", (R,), "org-agg", ("COMPLIANCE", 365))
KEY = f"arn:aws:kms:{R}:{ARCHIVE}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KMS = DesiredLogging(ARCHIVE, "org-logs", R, 365, "org-trail", (R,), "org-agg", None, KEY)


@pytest.mark.parametrize(("why", "desired", "bucket", "expected"), [
    ("a new bucket with Object Lock: locked after versioning (S3 refuses Object Lock without it)", LOCKED,
     ObservedBucket("org-logs"), ["CreateLogBucket", "EncryptLogBucket", "VersionLogBucket", "LockLogBucket",
                                  "BlockLogBucketPublicAccess", "PutLogBucketRetention", "PutLogBucketPolicy"]),
    ("an existing bucket gets Object Lock (S3 allows it since 2023)", LOCKED, GOOD_BUCKET, ["LockLogBucket"]),
    ("locked as declared: nothing", LOCKED, ObservedBucket(**{**GOOD_BUCKET.__dict__, "object_lock_enabled": True,
                                                               "object_lock": ("COMPLIANCE", 365)}), []),
    ("the default retention shortened by hand: put back", LOCKED, ObservedBucket(
        **{**GOOD_BUCKET.__dict__, "object_lock_enabled": True, "object_lock": ("GOVERNANCE", 1)}), ["LockLogBucket"]),
    ("Object Lock not asked for, enabled by hand: left alone (stricter)", D, ObservedBucket(
        **{**GOOD_BUCKET.__dict__, "object_lock_enabled": True, "object_lock": ("COMPLIANCE", 30)}), []),
    ("SSE-KMS asked for on an SSE-S3 bucket: encrypted with the key", KMS, GOOD_BUCKET, ["EncryptLogBucket"]),
    ("SSE-KMS with the key: nothing", KMS, ObservedBucket(**{**GOOD_BUCKET.__dict__, "kms_key": KEY}), []),
    ("SSE-KMS turned back to SSE-S3 by hand: put back", KMS, GOOD_BUCKET, ["EncryptLogBucket"]),
])
def test_object_lock_and_kms(why: str, desired: DesiredLogging, bucket: ObservedBucket, expected: list[str]) -> None:
    policy = policy_text(bucket_policy(desired, ORG, MGMT))
    seen = bucket if not bucket.owned else ObservedBucket(**{**bucket.__dict__, "policy": policy})
    plan = plan_logging(desired, observed(bucket=seen, trail=GOOD_TRAIL))
    assert kinds(a for a in plan.actions if not isinstance(a, PutOrganizationTrail | StartTrailLogging)) == (
        expected), why


def test_a_kms_key_whose_policy_shuts_out_cloudtrail_is_a_clear_refusal() -> None:
    config_only = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ARCHIVE}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}
    bucket = ObservedBucket(**{**GOOD_BUCKET.__dict__, "kms_key": KEY, "kms_key_policy": json.dumps(config_only)})
    plan = plan_logging(KMS, observed(bucket=bucket))
    assert plan.blocked is not None and plan.blocked.reason == "KmsKeyPolicyInsufficient" and plan.actions == ()
    assert "spec.centralLogging.kmsKeyArn" in plan.blocked.message
    assert "kms:GenerateDataKey for cloudtrail.amazonaws.com" in plan.blocked.message
    good = {**config_only, "Statement": config_only["Statement"] + [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
         "Resource": "*"}]}
    fixed = ObservedBucket(**{**bucket.__dict__, "kms_key_policy": json.dumps(good)})
    assert plan_logging(KMS, observed(bucket=fixed)).blocked is None


def test_a_delivery_failure_names_the_account_and_the_region() -> None:
    found = MemberConfig(DEV, {R: ObservedRecorder(R, "default", True, "org-logs", "the delivery channel's last "
                                                   "configuration history delivery to org-logs failed")})
    got = config_verdict(D, DEV, found)
    assert f"account {DEV}, region {R}" in got.message and "config.amazonaws.com" in got.message


@pytest.mark.parametrize(("why", "logging", "selectors", "records"), [
    ("CloudTrail's default (no selectors): all management events", True, None, True),
    ("stopped", False, None, False),
    ("basic, read and write", True, {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]},
     True),
    ("basic, write only", True, {"EventSelectors": [{"ReadWriteType": "WriteOnly"}]}, True),
    ("basic, read only", True, {"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]},
     False),
    ("basic, data events only", True, {"EventSelectors": [{"IncludeManagementEvents": False, "DataResources": [
        {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]}, False),
    ("basic, Organizations excluded", True, {"EventSelectors": [{"ReadWriteType": "All",
                                                                  "ExcludeManagementEventSources": [
                                                                      "organizations.amazonaws.com"]}]}, False),
    ("advanced, management", True, {"AdvancedEventSelectors": [MANAGEMENT_SELECTOR]}, True),
    ("advanced, management read-only", True, {"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]}]}, False),
    ("advanced, data only", True, {"AdvancedEventSelectors": [{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}]}]}, False),
])
def test_which_trails_record_the_calls_eventbridge_delivers(why: str, logging: bool, selectors: Any,
                                                             records: bool) -> None:
    trail = ObservedTrail("t", "arn", "b", True, True, False, logging, json.dumps(selectors) if selectors else None)
    assert records_management_writes(trail) is records, why


@pytest.mark.parametrize(("regions", "expected"), [
    (("us-east-1",), "us-east-1"),
    (("eu-west-1", "us-east-1"), "eu-west-1"),  # the first listed
    (("eu-central-2", "eu-west-1"), "eu-west-1"),  # Zurich came after February 2022: Config cannot record them there
    (("il-central-1",), None),
])
def test_global_resource_types_are_recorded_in_one_region(regions: tuple[str, ...], expected: str | None) -> None:
    desired = DesiredLogging(ARCHIVE, "org-logs", R, None, "org-trail", regions, "org-agg")
    assert global_region(desired) == expected
    work, _ = plan_recorders(desired, MemberConfig(DEV, {}))
    assert [(a.region, a.global_resources) for a in work if isinstance(a, PutConfigRecorder)] == [
        (r, r == expected) for r in regions]
