"""What the operator observed in AWS: plain, immutable data shared by the planner and the gateway.

No I/O here. ``OrgSnapshot`` is one consistent read of the whole organization (root, OU tree, accounts
per parent, policies and their targets); the gateway produces it, the planner reads it.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ObservedOU:
    id: str
    arn: str
    name: str
    parent_id: str


@dataclass(frozen=True)
class ObservedAccount:
    id: str
    arn: str
    name: str
    email: str
    state: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE, ...
    parent_id: str
    joined_method: str = "CREATED"  # CREATED or INVITED (ListAccounts' JoinedMethod)


@dataclass(frozen=True)
class ObservedPolicy:
    id: str
    arn: str
    name: str
    description: str
    type: str
    aws_managed: bool
    content: str | None  # None: content not read (AWS-managed policies are never read)
    target_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CreateAccountRequest:
    id: str
    state: str  # IN_PROGRESS, SUCCEEDED, FAILED
    account_name: str
    account_id: str | None = None
    failure_reason: str | None = None
    requested_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ObservedHandshake:
    id: str
    action: str  # ENABLE_ALL_FEATURES, APPROVE_ALL_FEATURES, ...
    state: str  # REQUESTED, OPEN, CANCELED, ACCEPTED, DECLINED, EXPIRED


@dataclass(frozen=True)
class ObservedInvitation:
    """An INVITE handshake (ListHandshakesForOrganization): to ``target``, an account id."""

    id: str
    state: str  # REQUESTED, OPEN, ACCEPTED, DECLINED, CANCELED, EXPIRED
    target: str
    requested_at: datetime.datetime | None = None
    expires_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ObservedRole:
    """An IAM role in a member account, as GetRole and ListAttachedRolePolicies return it. ``trust_policy``:
    the document as IAM gives it (a JSON string, URL-encoded in GetRole's raw answer, or already parsed)."""

    account_id: str
    name: str
    arn: str
    trust_policy: str | Mapping[str, object]
    attached: frozenset[str] = frozenset()  # the managed policy ARNs attached to it
    max_session_duration: int = 3600  # GetRole's MaxSessionDuration (seconds; IAM's default)


@dataclass(frozen=True)
class MemberAccess:
    """What a look into one member account found: its role (None: there is none), or why it could not look
    (``waiting``: the role the operator assumes there is not assumable yet, as after CreateAccount)."""

    account_id: str
    role: ObservedRole | None = None
    error: str | None = None
    waiting: bool = False

    @property
    def reached(self) -> bool:
        return self.error is None


#: What IAM's GetAccountSummary says of the account's root user (IAM API reference, GetAccountSummary: SummaryMap keys
#: AccountPasswordPresent, AccountAccessKeysPresent, AccountSigningCertificatesPresent, AccountMFAEnabled; 1 or 0), by
#: the name status shows.
ROOT_CREDENTIAL_KEYS = (("password", "AccountPasswordPresent"), ("accessKeys", "AccountAccessKeysPresent"),
                        ("signingCertificates", "AccountSigningCertificatesPresent"), ("mfa", "AccountMFAEnabled"))


@dataclass(frozen=True)
class MemberRootCredentials:
    """What a look at one member account's root user found: the kinds of credentials it has (``present``, empty:
    none), or why it could not look (``waiting``: the member role is not assumable yet)."""

    account_id: str
    present: tuple[str, ...] = ()
    error: str | None = None
    waiting: bool = False

    @property
    def shown(self) -> str | None:
        """As AwsAccount status.rootCredentials shows it (None: not known)."""
        if self.error is not None:
            return None
        return ",".join(self.present) if self.present else "none"


@dataclass(frozen=True)
class ObservedBucket:
    """The log bucket as the log archive account sees it. ``owned``: it exists in that account; ``taken``: the name
    belongs to a bucket elsewhere (bucket names are global). The rest is read only when ``owned``."""

    name: str
    owned: bool = False
    taken: bool = False
    policy: str | None = None
    encrypted: bool = False
    public_access_blocked: bool = False
    expiration_days: int | None = None  # the lifecycle rule that expires every object, if any
    versioned: bool = False  # versioning Enabled (not Suspended, never set)
    lifecycle_rules: tuple[str, ...] = ()  # each lifecycle rule, as JSON (GetBucketLifecycleConfiguration)
    kms_key: str | None = None  # the default encryption's KMS key when SSE-KMS
    object_lock: tuple[str, int] | None = None  # the default retention of Object Lock (mode, days), if enabled
    object_lock_enabled: bool = False
    kms_key_policy: str | None = None  # the KMS key's policy, when the operator can read it (the key is there)


@dataclass(frozen=True)
class ObservedTrail:
    """A CloudTrail trail of the management account (DescribeTrails + GetTrailStatus)."""

    name: str
    arn: str
    bucket: str
    multi_region: bool
    log_file_validation: bool
    organization: bool
    logging: bool
    selectors: str | None = None  # GetEventSelectors' answer as JSON (None: not read)
    delivery_error: str | None = None  # GetTrailStatus' LatestDeliveryError (an S3 error code; None: none)
    delivered_at: str | None = None  # GetTrailStatus' LatestDeliveryTime (ISO 8601; None: never delivered)


@dataclass(frozen=True)
class ObservedRecorder:
    """AWS Config in one account and region: the recorder (None: none), whether it records, the channel's bucket,
    and why Config fails to record or deliver there (the recorder's lastStatus Failure, the channel's last delivery
    Failure: DescribeConfigurationRecorderStatus, DescribeDeliveryChannelStatus; None: no failure seen)."""

    region: str
    recorder: str | None = None
    recording: bool = False
    channel_bucket: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class MemberConfig:
    """What a look at AWS Config in one member account found, per region; or why it could not look."""

    account_id: str
    regions: Mapping[str, ObservedRecorder] = field(default_factory=dict)
    error: str | None = None
    waiting: bool = False


@dataclass(frozen=True)
class OrgSnapshot:
    """One read of the organization. Methods answer the planner's questions without I/O."""

    organization_id: str
    management_account_id: str
    root_id: str
    root_arn: str
    ous: Mapping[str, ObservedOU] = field(default_factory=dict)
    accounts: Mapping[str, ObservedAccount] = field(default_factory=dict)
    policies: Mapping[str, ObservedPolicy] = field(default_factory=dict)
    enabled_policy_types: frozenset[str] = frozenset()
    feature_set: str = "ALL"  # DescribeOrganization's FeatureSet: ALL or CONSOLIDATED_BILLING
    organization_arn: str = ""
    taken_at: float = field(default_factory=time.monotonic)

    # --- tree -------------------------------------------------------------------------------
    def exists(self, parent_id: str) -> bool:
        return parent_id == self.root_id or parent_id in self.ous

    def child_ous(self, parent_id: str) -> list[ObservedOU]:
        return sorted((ou for ou in self.ous.values() if ou.parent_id == parent_id), key=lambda o: o.name)

    def child_accounts(self, parent_id: str) -> list[ObservedAccount]:
        return sorted((a for a in self.accounts.values() if a.parent_id == parent_id), key=lambda a: a.name)

    def ou_named(self, parent_id: str, name: str) -> ObservedOU | None:
        for ou in self.ous.values():
            if ou.parent_id == parent_id and ou.name == name:
                return ou
        return None

    def account_with_email(self, email: str) -> ObservedAccount | None:
        wanted = email.lower()
        for acct in self.accounts.values():
            if acct.email.lower() == wanted:
                return acct
        return None

    def depth(self, parent_id: str) -> int:
        """Number of OU levels from the root down to and including ``parent_id`` (root: 0)."""
        depth = 0
        current = parent_id
        while current in self.ous:
            depth += 1
            current = self.ous[current].parent_id
        return depth

    def path(self, node_id: str) -> str:
        """``Root/Non-Production/...`` for an OU or account id; the node's own name is the last part."""
        parts: list[str] = []
        current: str | None = node_id
        if node_id in self.accounts:
            parts.append(self.accounts[node_id].name)
            current = self.accounts[node_id].parent_id
        while current is not None and current in self.ous:
            parts.append(self.ous[current].name)
            current = self.ous[current].parent_id
        parts.append("Root")
        return "/".join(reversed(parts))

    def policies_on(self, target_id: str, policy_type: str) -> list[ObservedPolicy]:
        return sorted(
            (p for p in self.policies.values() if p.type == policy_type and target_id in p.target_ids),
            key=lambda p: p.name,
        )

    def policy_named(self, name: str, policy_type: str) -> ObservedPolicy | None:
        for pol in self.policies.values():
            if pol.name == name and pol.type == policy_type:
                return pol
        return None

    def target_exists(self, target_id: str) -> bool:
        return target_id == self.root_id or target_id in self.ous or target_id in self.accounts

    # --- copy-on-write updates (the gateway applies its own writes without re-reading) ------
    def with_ou(self, ou: ObservedOU) -> OrgSnapshot:
        return dataclasses.replace(self, ous={**self.ous, ou.id: ou})

    def without_ou(self, ou_id: str) -> OrgSnapshot:
        return dataclasses.replace(self, ous={k: v for k, v in self.ous.items() if k != ou_id})

    def with_account(self, account: ObservedAccount) -> OrgSnapshot:
        return dataclasses.replace(self, accounts={**self.accounts, account.id: account})

    def without_account(self, account_id: str) -> OrgSnapshot:
        return dataclasses.replace(self, accounts={k: v for k, v in self.accounts.items() if k != account_id})

    def with_policy(self, policy: ObservedPolicy) -> OrgSnapshot:
        return dataclasses.replace(self, policies={**self.policies, policy.id: policy})

    def without_policy(self, policy_id: str) -> OrgSnapshot:
        return dataclasses.replace(self, policies={k: v for k, v in self.policies.items() if k != policy_id})

    def with_policy_types(self, types: Iterable[str]) -> OrgSnapshot:
        return dataclasses.replace(self, enabled_policy_types=frozenset(types))
