"""Central logging: the organization trail (CloudTrail, from the management account), and through the role the
operator assumes in member accounts, the log bucket and the organization aggregator in the log archive account
and AWS Config's recorder and delivery channel in every member account and region.

CloudTrail calls are made with the operator's own credentials (deploy/iam-policy.json grants them). S3, AWS
Config and IAM calls are made with the member role's temporary credentials (``MemberAccounts.client``): they
belong to that role's policy, and docs/operating.md names each of them.

Every method maps AWS errors (``AwsError``) and retries transient ones; the error codes that mean "already so"
(a bucket already ours, a trail already there, a recorder already gone) are not errors.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from controller.aws.errors import AwsError
from controller.aws.member import MemberAccounts, mapped_call
from controller.aws.retry import RetryPolicy
from controller.aws.writes import write
from controller.planner.actions import (
    Blocked,
    BlockLogBucketPublicAccess,
    CreateLogBucket,
    DeleteOrganizationAggregator,
    DeleteOrganizationTrail,
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
from controller.state import MemberConfig, ObservedBucket, ObservedRecorder, ObservedTrail

T = TypeVar("T")

CONFIG_PRINCIPAL = "config.amazonaws.com"
RECORDER_NAME = "default"  # AWS Config's own default names for the one recorder and channel of a region
CHANNEL_NAME = "default"
AGGREGATOR_ROLE = "awsorg-config-aggregator"
AGGREGATOR_POLICY = "arn:aws:iam::aws:policy/service-role/AWSConfigRoleForOrganizations"
RETENTION_RULE = "awsorg-retention"
#: AWS Organizations is global: CloudTrail records its calls in us-east-1, where EventBridge receives them
#: (docs/operating.md, "Drift in seconds").
EVENTS_REGION = "us-east-1"
BUCKET_TAKEN_CODES = frozenset({"BucketAlreadyExists"})
#: What CloudTrail gives a new trail: "By default, trails created without specific event selectors are configured to
#: log all read and write management events, and no data events" (CloudTrail API reference, PutEventSelectors).
DEFAULT_SELECTOR = {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                    "ExcludeManagementEventSources": []}


class BucketNameTaken(AwsError):
    """The bucket name belongs to a bucket in another AWS account (bucket names are global)."""


def recorder_role_arn(account_id: str, partition: str = "aws") -> str:
    """AWS Config's service-linked role, which the recorder uses (created with CreateServiceLinkedRole)."""
    return f"arn:{partition}:iam::{account_id}:role/aws-service-role/{CONFIG_PRINCIPAL}/AWSServiceRoleForConfig"


class CentralLoggingGateway:
    """The only way the operator talks to CloudTrail, S3 and AWS Config."""

    def __init__(self, members: MemberAccounts, trails: Callable[[str], Any], retry: RetryPolicy | None = None,
                 partition: str = "aws") -> None:
        self.members = members
        self._trails = trails  # region -> a CloudTrail client with the operator's credentials
        self._trail_clients: dict[str, Any] = {}
        self._retry = retry or RetryPolicy()
        self._partition = partition
        self._lock = threading.Lock()
        self._taken: set[str] = set()  # bucket names found to belong to another account
        self._slr: set[str] = set()  # accounts where Config's service-linked role is known to exist
        # What was last seen, kept current after the operator's own writes (for status, and for the accounts whose
        # Config is not read this resync).
        self._known_trails: dict[tuple[str, str], ObservedTrail | None] = {}
        self._aggregators: dict[tuple[str, str, str], str | None] = {}
        self._config: dict[str, MemberConfig] = {}
        self._buckets: dict[tuple[str, str, str], ObservedBucket] = {}
        self._event_trails: tuple[ObservedTrail, ...] | None = None

    # ------------------------------------------------------------------------------ what is known (no call)
    def known_trail(self, region: str, name: str) -> ObservedTrail | None:
        with self._lock:
            return self._known_trails.get((region, name))

    def known_aggregator(self, account_id: str, region: str, name: str) -> str | None:
        with self._lock:
            return self._aggregators.get((account_id, region, name))

    def known_config(self, account_id: str) -> MemberConfig | None:
        with self._lock:
            return self._config.get(account_id)

    def known_all(self) -> tuple[Mapping[tuple[str, str], ObservedTrail | None],
                                 Mapping[tuple[str, str, str], str | None], Mapping[str, MemberConfig]]:
        """The trails by (region, name), the aggregators by (account, region, name) and each account's AWS Config,
        as last read or written: read-only views (no copy, no call)."""
        return MappingProxyType(self._known_trails), MappingProxyType(self._aggregators), MappingProxyType(self._config)

    def known_bucket(self, account_id: str, region: str, name: str) -> ObservedBucket | None:
        with self._lock:
            return self._buckets.get((account_id, region, name))

    def _set_bucket(self, account_id: str, region: str, name: str, **changes: Any) -> None:
        """What a write to the bucket leaves, over what was last seen of it."""
        with self._lock:
            key = (account_id, region, name)
            self._buckets[key] = dataclasses.replace(self._buckets.get(key) or ObservedBucket(name), **changes)

    def _set_trail(self, region: str, name: str, fn: Callable[[ObservedTrail | None], ObservedTrail | None]) -> None:
        with self._lock:
            self._known_trails[(region, name)] = fn(self._known_trails.get((region, name)))

    def _set_recorder(self, account_id: str, region: str, recorder: ObservedRecorder) -> None:
        with self._lock:
            known = self._config.get(account_id)
            if known is not None and known.error is None:
                self._config[account_id] = MemberConfig(account_id, {**known.regions, region: recorder})

    # ------------------------------------------------------------------------------ plumbing
    def _trail_client(self, region: str) -> Any:
        with self._lock:
            client = self._trail_clients.get(region)
            if client is None:
                client = self._trail_clients[region] = self._trails(region)
            return client

    def _ct(self, operation: str, fn: Callable[[], T]) -> T:
        return mapped_call(operation, fn, self._retry)

    def _done_if(self, codes: Iterable[str], call: Callable[[], Any]) -> bool:
        """A write whose goal may already hold: False when AWS answers one of ``codes``."""
        try:
            call()
        except AwsError as exc:
            if exc.code not in codes:
                raise
            return False
        return True

    # ------------------------------------------------------------------------------ the trail (management)
    def read_trail(self, region: str, name: str) -> ObservedTrail | None:
        ct = self._trail_client(region)
        found = self._ct("DescribeTrails", lambda: ct.describe_trails(trailNameList=[name],
                                                                       includeShadowTrails=False))
        raw = next((t for t in found.get("trailList", []) if t.get("Name") == name), None)
        if raw is None:
            self._set_trail(region, name, lambda _: None)
            return None
        arn = str(raw["TrailARN"])
        status = self._ct("GetTrailStatus", lambda: ct.get_trail_status(Name=arn))
        found_selectors = self._ct("GetEventSelectors", lambda: ct.get_event_selectors(TrailName=arn))
        selectors = {k: found_selectors[k] for k in ("EventSelectors", "AdvancedEventSelectors")
                     if found_selectors.get(k)}
        delivered = status.get("LatestDeliveryTime")
        trail = ObservedTrail(name, arn, str(raw.get("S3BucketName", "")), bool(raw.get("IsMultiRegionTrail")),
                             bool(raw.get("LogFileValidationEnabled")), bool(raw.get("IsOrganizationTrail")),
                             bool(status.get("IsLogging")), json.dumps(selectors, sort_keys=True, default=str),
                             delivery_error=str(status["LatestDeliveryError"]) if status.get("LatestDeliveryError")
                             else None,
                             delivered_at=_iso(delivered) if delivered else None)
        self._set_trail(region, name, lambda _: trail)
        return trail

    def read_event_trails(self, region: str = EVENTS_REGION) -> tuple[ObservedTrail, ...]:
        """Every trail of the management account that covers ``region`` (its own, and the multi-region trails of
        other regions: DescribeTrails with shadow trails), each with its status and event selectors
        (GetTrailStatus, GetEventSelectors in its home region, by ARN): 1 + 2 calls per trail."""
        ct = self._trail_client(region)
        found = self._ct("DescribeTrails", lambda: ct.describe_trails(includeShadowTrails=True))
        trails = []
        for raw in found.get("trailList", []):
            arn, home = str(raw["TrailARN"]), str(raw.get("HomeRegion") or region)
            status, seen = self._trail_reads(self._trail_client(home), arn)
            selectors = {k: seen[k] for k in ("EventSelectors", "AdvancedEventSelectors") if seen.get(k)}
            trails.append(ObservedTrail(str(raw.get("Name", "")), arn, str(raw.get("S3BucketName", "")),
                                        bool(raw.get("IsMultiRegionTrail")), bool(raw.get("LogFileValidationEnabled")),
                                        bool(raw.get("IsOrganizationTrail")), bool(status.get("IsLogging")),
                                        json.dumps(selectors, sort_keys=True, default=str)))
        with self._lock:
            self._event_trails = tuple(trails)
        return self._event_trails

    def _trail_reads(self, ct: Any, arn: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return (self._ct("GetTrailStatus", lambda: ct.get_trail_status(Name=arn)),
                self._ct("GetEventSelectors", lambda: ct.get_event_selectors(TrailName=arn)))

    def known_event_trails(self) -> tuple[ObservedTrail, ...] | None:
        """What ``read_event_trails`` last found (None: never read)."""
        with self._lock:
            return self._event_trails

    def _trail_settings(self, name: str, bucket: str) -> dict[str, Any]:
        return {"Name": name, "S3BucketName": bucket, "IsOrganizationTrail": True, "IsMultiRegionTrail": True,
                "EnableLogFileValidation": True, "IncludeGlobalServiceEvents": True}

    @write(PutOrganizationTrail, "TrailConfigured",
           lambda gw, a, _: (gw.update_trail if a.exists else gw.create_trail)(a.region, a.name, a.bucket))
    def create_trail(self, region: str, name: str, bucket: str) -> str:
        """The organization trail, multi-region, with log file validation (there already: updated to that)."""
        ct = self._trail_client(region)
        try:
            arn = str(self._ct("CreateTrail", lambda: ct.create_trail(**self._trail_settings(name, bucket)))[
                "TrailARN"])
            self._set_trail(region, name, lambda _: ObservedTrail(name, arn, bucket, True, True, True, False,
                                                                  json.dumps({"EventSelectors": [DEFAULT_SELECTOR]})))
            return arn
        except AwsError as exc:
            if exc.code != "TrailAlreadyExistsException":
                raise
        return self.update_trail(region, name, bucket)

    def update_trail(self, region: str, name: str, bucket: str) -> str:
        ct = self._trail_client(region)
        arn = str(self._ct("UpdateTrail", lambda: ct.update_trail(**self._trail_settings(name, bucket)))["TrailARN"])
        self._set_trail(region, name, lambda t: dataclasses.replace(t, arn=arn, bucket=bucket, multi_region=True,
                                                                    log_file_validation=True, organization=True)
                        if t else ObservedTrail(name, arn, bucket, True, True, True, False))
        return arn

    @write(PutTrailEventSelectors, "TrailEventSelectorsSet",
           lambda gw, a, _: gw.put_event_selectors(a.region, a.name, a.selectors))
    def put_event_selectors(self, region: str, name: str, selectors: str) -> None:
        """The trail's event selectors (``selectors``: the PutEventSelectors arguments as JSON, basic or advanced)."""
        ct = self._trail_client(region)
        self._ct("PutEventSelectors", lambda: ct.put_event_selectors(TrailName=name, **json.loads(selectors)))
        self._set_trail(region, name, lambda t: dataclasses.replace(t, selectors=selectors) if t else None)

    @write(StartTrailLogging, "TrailLoggingStarted", lambda gw, a, _: gw.start_logging(a.region, a.name))
    def start_logging(self, region: str, name: str) -> None:
        ct = self._trail_client(region)
        self._ct("StartLogging", lambda: ct.start_logging(Name=name))
        self._set_trail(region, name, lambda t: dataclasses.replace(t, logging=True) if t else None)

    @write(StopTrailLogging, "TrailLoggingStopped", lambda gw, a, _: gw.stop_logging(a.region, a.name))
    def stop_logging(self, region: str, name: str) -> bool:
        ct = self._trail_client(region)
        done = self._done_if({"TrailNotFoundException"},
                             lambda: self._ct("StopLogging", lambda: ct.stop_logging(Name=name)))
        self._set_trail(region, name, lambda t: dataclasses.replace(t, logging=False) if t else None)
        return done

    @write(DeleteOrganizationTrail, "TrailDeleted", lambda gw, a, _: gw.delete_trail(a.region, a.name))
    def delete_trail(self, region: str, name: str) -> bool:
        ct = self._trail_client(region)
        done = self._done_if({"TrailNotFoundException"},
                             lambda: self._ct("DeleteTrail", lambda: ct.delete_trail(Name=name)))
        self._set_trail(region, name, lambda _: None)
        return done

    # ------------------------------------------------------------------------------ the bucket (log archive)
    def read_bucket(self, account_id: str, region: str, name: str) -> ObservedBucket:
        s3 = self.members.client(account_id, "s3", region)
        call = self.members.call
        owned = name in {b["Name"] for b in call("ListBuckets", lambda: s3.list_buckets()).get("Buckets", [])}
        if not owned:
            with self._lock:
                found = self._buckets[(account_id, region, name)] = ObservedBucket(name, taken=name in self._taken)
            return found
        policy = self._absent({"NoSuchBucketPolicy"}, lambda: call("GetBucketPolicy", lambda: s3.get_bucket_policy(
            Bucket=name)))
        encryption = self._absent({"ServerSideEncryptionConfigurationNotFoundError"}, lambda: call(
            "GetBucketEncryption", lambda: s3.get_bucket_encryption(Bucket=name)))
        block = self._absent({"NoSuchPublicAccessBlockConfiguration"}, lambda: call(
            "GetPublicAccessBlock", lambda: s3.get_public_access_block(Bucket=name)))
        lifecycle = self._absent({"NoSuchLifecycleConfiguration"}, lambda: call(
            "GetBucketLifecycleConfiguration", lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)))
        versioning = call("GetBucketVersioning", lambda: s3.get_bucket_versioning(Bucket=name))
        lock = self._absent({"ObjectLockConfigurationNotFoundError"}, lambda: call(
            "GetObjectLockConfiguration", lambda: s3.get_object_lock_configuration(Bucket=name)))
        rules = (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        flags = (block or {}).get("PublicAccessBlockConfiguration", {})
        default: dict[str, Any] = next((r.get("ApplyServerSideEncryptionByDefault", {}) for r in rules), {})
        kms_key = str(default.get("KMSMasterKeyID")) if default.get("SSEAlgorithm") == "aws:kms" else None
        lock_config = (lock or {}).get("ObjectLockConfiguration", {})
        retention = lock_config.get("Rule", {}).get("DefaultRetention", {})
        bucket = ObservedBucket(
            name, owned=True, policy=(policy or {}).get("Policy"),
            encrypted=any(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules),
            public_access_blocked=all(flags.get(k) is True for k in (
                "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")),
            expiration_days=_expiration_days((lifecycle or {}).get("Rules", [])),
            versioned=versioning.get("Status") == "Enabled",
            lifecycle_rules=tuple(json.dumps(r, sort_keys=True, default=str) for r in (lifecycle or {}).get(
                "Rules", [])),
            kms_key=kms_key,
            object_lock=(str(retention["Mode"]), int(retention["Days"])) if retention.get("Days") else None,
            object_lock_enabled=lock_config.get("ObjectLockEnabled") == "Enabled",
            kms_key_policy=self._key_policy(account_id, kms_key))
        with self._lock:
            self._buckets[(account_id, region, name)] = bucket
        return bucket

    def _key_policy(self, account_id: str, key_arn: str | None) -> str | None:
        """The KMS key's policy when the key is in the log archive account (GetKeyPolicy is not cross-account) and
        the member role may read it; None otherwise (not checked)."""
        parts = (key_arn or "").split(":")
        if len(parts) != 6 or parts[4] != account_id:
            return None
        kms = self.members.client(account_id, "kms", parts[3])
        try:
            answer = self.members.call("GetKeyPolicy", lambda: kms.get_key_policy(KeyId=key_arn, PolicyName="default"))
        except AwsError as exc:
            if exc.code in {"AccessDeniedException", "NotFoundException"}:
                return None
            raise
        return str(answer.get("Policy") or "") or None

    @staticmethod
    def _absent(codes: set[str], fn: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        try:
            return fn()
        except AwsError as exc:
            if exc.code in codes:
                return None
            raise

    @write(CreateLogBucket, "LogBucketCreated", lambda gw, a, _: gw.create_bucket(a.account_id, a.region, a.bucket),
           explain=lambda a, exc: Blocked(
               "BucketNameTaken", f"spec.centralLogging.bucketName: bucket {a.bucket!r} belongs to another AWS "
               "account (S3 bucket names are global across AWS), so it cannot be created in the log archive account; "
               "choose another name", retry=False) if isinstance(exc, BucketNameTaken) else None)
    def create_bucket(self, account_id: str, region: str, name: str) -> None:
        """Create the bucket in the log archive account (ours already: fine). Another account's: BucketNameTaken,
        remembered so that later looks report it without calling."""
        s3 = self.members.client(account_id, "s3", region)
        args: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.members.call("CreateBucket", lambda: s3.create_bucket(**args))
        except AwsError as exc:
            if exc.code in BUCKET_TAKEN_CODES:
                with self._lock:
                    self._taken.add(name)
                raise BucketNameTaken(exc.operation, exc.code, exc.aws_message, exc.reason) from exc
            if exc.code != "BucketAlreadyOwnedByYou":
                raise
        self._set_bucket(account_id, region, name, owned=True)

    @write(EncryptLogBucket, "LogBucketEncrypted",
           lambda gw, a, _: gw.put_bucket_encryption(a.account_id, a.region, a.bucket, a.kms_key))
    def put_bucket_encryption(self, account_id: str, region: str, name: str, kms_key: str | None = None) -> None:
        """Default encryption: SSE-S3, or SSE-KMS with ``kms_key`` and an S3 Bucket Key (fewer KMS requests)."""
        s3 = self.members.client(account_id, "s3", region)
        rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        if kms_key is not None:
            rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key},
                    "BucketKeyEnabled": True}
        self.members.call("PutBucketEncryption", lambda: s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]}))
        self._set_bucket(account_id, region, name, encrypted=True, kms_key=kms_key)

    @write(LockLogBucket, "LogBucketLocked",
           lambda gw, a, _: gw.lock_bucket(a.account_id, a.region, a.bucket, a.mode, a.days))
    def lock_bucket(self, account_id: str, region: str, name: str, mode: str, days: int) -> None:
        """Object Lock with a default retention. S3 enables it on an existing bucket whose versioning is on ("You
        can enable S3 Object Lock for new or existing general purpose buckets", S3 user guide, "Configuring S3
        Object Lock"); it cannot be turned off afterwards."""
        s3 = self.members.client(account_id, "s3", region)
        self.members.call("PutObjectLockConfiguration", lambda: s3.put_object_lock_configuration(
            Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {
                "DefaultRetention": {"Mode": mode, "Days": days}}}))
        self._set_bucket(account_id, region, name, object_lock=(mode, days), object_lock_enabled=True)

    @write(VersionLogBucket, "LogBucketVersioned",
           lambda gw, a, _: gw.put_bucket_versioning(a.account_id, a.region, a.bucket))
    def put_bucket_versioning(self, account_id: str, region: str, name: str) -> None:
        s3 = self.members.client(account_id, "s3", region)
        self.members.call("PutBucketVersioning", lambda: s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": "Enabled"}))
        self._set_bucket(account_id, region, name, versioned=True)

    @write(BlockLogBucketPublicAccess, "LogBucketPublicAccessBlocked",
           lambda gw, a, _: gw.block_public_access(a.account_id, a.region, a.bucket))
    def block_public_access(self, account_id: str, region: str, name: str) -> None:
        s3 = self.members.client(account_id, "s3", region)
        self.members.call("PutPublicAccessBlock", lambda: s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                                         "BlockPublicPolicy": True, "RestrictPublicBuckets": True}))
        self._set_bucket(account_id, region, name, public_access_blocked=True)

    @write(PutLogBucketRetention, "LogBucketRetentionSet",
           lambda gw, a, _: gw.put_retention(a.account_id, a.region, a.bucket, a.days, a.kept))
    def put_retention(self, account_id: str, region: str, name: str, days: int | None,
                      kept: tuple[str, ...] = ()) -> None:
        """The lifecycle: the operator's rule (``days``; None: none) and the rules ``kept`` (JSON, as read). Nothing
        left: the lifecycle configuration deleted (S3 refuses an empty one)."""
        s3 = self.members.client(account_id, "s3", region)
        rules = [json.loads(r) for r in kept if json.loads(r).get("ID") != RETENTION_RULE]
        if days is not None:
            rules.insert(0, {"ID": RETENTION_RULE, "Status": "Enabled", "Filter": {"Prefix": ""},
                             "Expiration": {"Days": days}, "NoncurrentVersionExpiration": {"NoncurrentDays": days}})
        if rules:
            self.members.call("PutBucketLifecycleConfiguration", lambda: s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": rules}))
        else:
            self.members.call("DeleteBucketLifecycle", lambda: s3.delete_bucket_lifecycle(Bucket=name))
        self._set_bucket(account_id, region, name, expiration_days=days,
                         lifecycle_rules=tuple(json.dumps(r, sort_keys=True, default=str) for r in rules))

    @write(PutLogBucketPolicy, "LogBucketPolicySet",
           lambda gw, a, _: gw.put_bucket_policy(a.account_id, a.region, a.bucket, a.policy))
    def put_bucket_policy(self, account_id: str, region: str, name: str, policy: str) -> None:
        s3 = self.members.client(account_id, "s3", region)
        self.members.call("PutBucketPolicy", lambda: s3.put_bucket_policy(Bucket=name, Policy=policy))
        self._set_bucket(account_id, region, name, policy=policy)

    # ------------------------------------------------------------------------------ AWS Config (members)
    def read_config(self, account_id: str, regions: Iterable[str]) -> MemberConfig:
        """The recorder and delivery channel in each region. Never raises an AWS error: one account's trouble is
        that account's (``MemberConfig.error``; ``waiting`` while its role is not assumable)."""
        regions_seen, error, waiting = self.members.look(
            account_id, lambda: {region: self._read_region(account_id, region) for region in regions})
        seen = MemberConfig(account_id, regions_seen or {}, error, waiting)
        with self._lock:
            self._config[account_id] = seen
        return seen

    def read_configs(self, account_ids: Iterable[str], regions: Iterable[str]) -> dict[str, MemberConfig]:
        """``read_config`` in many accounts at once (``MemberAccounts.each``): every account's answer."""
        wanted = tuple(regions)
        return self.members.each(account_ids, lambda account_id: self.read_config(account_id, wanted))

    def _read_region(self, account_id: str, region: str) -> ObservedRecorder:
        config = self.members.client(account_id, "config", region)
        statuses = self.members.call("DescribeConfigurationRecorderStatus",
                                     lambda: config.describe_configuration_recorder_status())
        channels = self.members.call("DescribeDeliveryChannels", lambda: config.describe_delivery_channels())
        status = next(iter(statuses.get("ConfigurationRecordersStatus", [])), None)
        channel = next(iter(channels.get("DeliveryChannels", [])), None)
        failures = []
        if status and str(status.get("lastStatus", "")).lower() == "failure":
            failures.append(f"the recorder's last status is Failure ({status.get('lastErrorCode') or '?'}: "
                            f"{status.get('lastErrorMessage') or ''})")
        if channel and status and status.get("recording"):  # a recorder that records delivers: one more read
            failures += _delivery_failures(channel, self.members.call(
                "DescribeDeliveryChannelStatus",
                lambda: config.describe_delivery_channel_status(DeliveryChannelNames=[channel["name"]])))
        return ObservedRecorder(region, status["name"] if status else None, bool(status and status.get("recording")),
                                channel.get("s3BucketName") if channel else None, "; ".join(failures) or None)

    @write(PutConfigRecorder, "ConfigRecorderConfigured",
           lambda gw, a, _: gw.ensure_recorder(a.account_id, a.region, a.bucket, a.recorder, a.global_resources))
    def ensure_recorder(self, account_id: str, region: str, bucket: str, recorder: str | None,
                        global_resources: bool = False) -> None:
        """Config's service-linked role, a recorder (``recorder``: the one there already), a delivery channel into
        ``bucket``, and recording started."""
        if account_id not in self._slr:
            iam = self.members.client(account_id, "iam", "us-east-1")
            self._done_if({"InvalidInput"}, lambda: self.members.call(  # "has been taken in this account"
                "CreateServiceLinkedRole", lambda: iam.create_service_linked_role(AWSServiceName=CONFIG_PRINCIPAL)))
            with self._lock:
                self._slr.add(account_id)
        config = self.members.client(account_id, "config", region)
        name = recorder or RECORDER_NAME
        self.members.call("PutConfigurationRecorder", lambda: config.put_configuration_recorder(
            ConfigurationRecorder={"name": name, "roleARN": recorder_role_arn(account_id, self._partition),
                                   "recordingGroup": {"allSupported": True,
                                                     "includeGlobalResourceTypes": global_resources}}))
        channels = self.members.call("DescribeDeliveryChannels", lambda: config.describe_delivery_channels())
        channel = next((c["name"] for c in channels.get("DeliveryChannels", [])), CHANNEL_NAME)
        self.members.call("PutDeliveryChannel", lambda: config.put_delivery_channel(
            DeliveryChannel={"name": channel, "s3BucketName": bucket}))
        self.members.call("StartConfigurationRecorder",
                          lambda: config.start_configuration_recorder(ConfigurationRecorderName=name))
        self._set_recorder(account_id, region, ObservedRecorder(region, name, True, bucket))

    @write(StartConfigRecorder, "ConfigRecorderStarted",
           lambda gw, a, _: gw.start_recorder(a.account_id, a.region, a.recorder))
    def start_recorder(self, account_id: str, region: str, recorder: str) -> None:
        config = self.members.client(account_id, "config", region)
        self.members.call("StartConfigurationRecorder",
                          lambda: config.start_configuration_recorder(ConfigurationRecorderName=recorder))
        known = self.known_config(account_id)
        was = known.regions.get(region) if known is not None else None
        self._set_recorder(account_id, region, ObservedRecorder(region, recorder, True, was.channel_bucket if was
                                                                else None))

    @write(RemoveConfigRecorder, "ConfigRecorderRemoved",
           lambda gw, a, _: gw.remove_recorder(a.account_id, a.region, a.recorder))
    def remove_recorder(self, account_id: str, region: str, recorder: str) -> None:
        """Stop the recorder, delete the delivery channel, then the recorder (AWS refuses to delete the channel of
        a recorder that records)."""
        config = self.members.client(account_id, "config", region)
        call = self.members.call
        gone = {"NoSuchConfigurationRecorderException", "NoSuchDeliveryChannelException"}
        self._done_if(gone, lambda: call("StopConfigurationRecorder", lambda: config.stop_configuration_recorder(
            ConfigurationRecorderName=recorder)))
        for channel in call("DescribeDeliveryChannels", lambda: config.describe_delivery_channels()).get(
                "DeliveryChannels", []):
            self._delete_channel(config, str(channel["name"]))
        self._done_if(gone, lambda: call("DeleteConfigurationRecorder", lambda: config.delete_configuration_recorder(
            ConfigurationRecorderName=recorder)))
        self._set_recorder(account_id, region, ObservedRecorder(region))

    def _delete_channel(self, config: Any, name: str) -> None:
        self._done_if({"NoSuchDeliveryChannelException"}, lambda: self.members.call(
            "DeleteDeliveryChannel", lambda: config.delete_delivery_channel(DeliveryChannelName=name)))

    # ------------------------------------------------------------------------------ the aggregator
    def read_aggregator(self, account_id: str, region: str, name: str) -> str | None:
        config = self.members.client(account_id, "config", region)
        found = self._absent({"NoSuchConfigurationAggregatorException"}, lambda: self.members.call(
            "DescribeConfigurationAggregators",
            lambda: config.describe_configuration_aggregators(ConfigurationAggregatorNames=[name])))
        aggregators = (found or {}).get("ConfigurationAggregators", [])
        arn = str(aggregators[0]["ConfigurationAggregatorArn"]) if aggregators else None
        with self._lock:
            self._aggregators[(account_id, region, name)] = arn
        return arn

    def list_organization_aggregators(self, account_id: str, region: str) -> list[str]:
        """The names of the organization aggregators in the account and region (DescribeConfigurationAggregators,
        every page): what ``awsorg export`` writes as ``aggregatorName``."""
        config = self.members.client(account_id, "config", region)
        names: list[str] = []
        token: str | None = None
        while True:
            args = {"NextToken": token} if token else {}
            page = self.members.call("DescribeConfigurationAggregators",
                                     functools.partial(config.describe_configuration_aggregators, **args))
            names += [str(a["ConfigurationAggregatorName"]) for a in page.get("ConfigurationAggregators", [])
                      if a.get("OrganizationAggregationSource")]
            token = page.get("NextToken")
            if not token:
                return sorted(names)

    @write(PutOrganizationAggregator, "AggregatorCreated",
           lambda gw, a, _: gw.put_aggregator(a.account_id, a.region, a.name))
    def put_aggregator(self, account_id: str, region: str, name: str) -> str:
        """The organization aggregator, with the role Config assumes to read the organization (created with
        AWSConfigRoleForOrganizations attached, or kept)."""
        iam = self.members.client(account_id, "iam", "us-east-1")
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": CONFIG_PRINCIPAL}, "Action": "sts:AssumeRole"}]})
        self._done_if({"EntityAlreadyExists"}, lambda: self.members.call("CreateRole", lambda: iam.create_role(
            RoleName=AGGREGATOR_ROLE, AssumeRolePolicyDocument=trust)))
        self.members.call("AttachRolePolicy", lambda: iam.attach_role_policy(RoleName=AGGREGATOR_ROLE,
                                                                          PolicyArn=AGGREGATOR_POLICY))
        config = self.members.client(account_id, "config", region)
        role = f"arn:{self._partition}:iam::{account_id}:role/{AGGREGATOR_ROLE}"
        answer = self.members.call("PutConfigurationAggregator", lambda: config.put_configuration_aggregator(
            ConfigurationAggregatorName=name, OrganizationAggregationSource={"RoleArn": role, "AllAwsRegions": True}))
        arn = str(answer["ConfigurationAggregator"]["ConfigurationAggregatorArn"])
        with self._lock:
            self._aggregators[(account_id, region, name)] = arn
        return arn

    @write(DeleteOrganizationAggregator, "AggregatorDeleted",
           lambda gw, a, _: gw.delete_aggregator(a.account_id, a.region, a.name))
    def delete_aggregator(self, account_id: str, region: str, name: str) -> bool:
        config = self.members.client(account_id, "config", region)
        done = self._done_if({"NoSuchConfigurationAggregatorException"}, lambda: self.members.call(
            "DeleteConfigurationAggregator",
            lambda: config.delete_configuration_aggregator(ConfigurationAggregatorName=name)))
        with self._lock:
            self._aggregators[(account_id, region, name)] = None
        return done


def _delivery_failures(channel: Mapping[str, Any], answer: Mapping[str, Any]) -> list[str]:
    """What DescribeDeliveryChannelStatus says failed: the last configuration history or snapshot delivery."""
    failures = []
    for found in answer.get("DeliveryChannelsStatus", [])[:1]:
        for what, key in (("configuration history", "configHistoryDeliveryInfo"),
                          ("configuration snapshot", "configSnapshotDeliveryInfo")):
            info = found.get(key) or {}
            if str(info.get("lastStatus", "")).lower() != "failure":
                continue
            last = f"; last delivered {_iso(info['lastSuccessfulTime'])}" if info.get("lastSuccessfulTime") else ""
            failures.append(f"the delivery channel's last {what} delivery to {channel.get('s3BucketName')} failed "
                            f"({info.get('lastErrorCode') or '?'}: {info.get('lastErrorMessage') or ''}{last})")
    return failures


def _iso(value: Any) -> str:
    """A time as AWS answers it (botocore: a datetime) in ISO 8601."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _expiration_days(rules: Iterable[dict[str, Any]]) -> int | None:
    """The days of an enabled lifecycle rule that expires every object (no prefix, no tag filter)."""
    for rule in rules:
        scope = rule.get("Filter", {"Prefix": rule.get("Prefix", "")})
        if rule.get("Status") == "Enabled" and scope in ({}, {"Prefix": ""}) and rule.get("Expiration", {}).get("Days"):
            return int(rule["Expiration"]["Days"])
    return None
