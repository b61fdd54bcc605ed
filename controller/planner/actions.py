"""What the planner asks for: AWS writes (actions), bindings, differences and blockers. Plain data.

An action is a frozen dataclass deriving from :class:`Action`; the gateway method that carries it out registers it
(``controller.aws.writes``), so adding a write touches this module and that gateway's, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from controller.api import limits
from controller.api.models import AwsAccountStatus

# ------------------------------------------------------------------------------------------ actions


class Action:
    """One step of a plan: an AWS write (registered beside its gateway method), or a :class:`StatusStep`.

    ``prerequisite``: it changes what the rest of the plan depends on (AWS attaches a policy type's default policy
    everywhere, the feature set changes): the engine carries it out, observes again and plans anew.
    """

    prerequisite: ClassVar[bool] = False

    def depends_on(self) -> type[Action] | None:
        """An earlier action of the same plan this one needs: skipped when one of that type failed (it would fail
        for the same reason, less clearly)."""
        return None

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class CreateOU(Action):
    parent_id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"create OU {self.name!r} under {self.parent_id}"


@dataclass(frozen=True)
class RenameOU(Action):
    ou_id: str
    name: str
    old_name: str

    def describe(self) -> str:
        return f"rename OU {self.ou_id} from {self.old_name!r} to {self.name!r}"


@dataclass(frozen=True)
class DeleteOU(Action):
    ou_id: str
    name: str

    def describe(self) -> str:
        return f"delete OU {self.name!r} ({self.ou_id})"


@dataclass(frozen=True)
class TagResource(Action):
    resource_id: str
    tags: dict[str, str]

    def describe(self) -> str:
        return f"tag {self.resource_id} with {', '.join(sorted(self.tags))}"


@dataclass(frozen=True)
class UntagResource(Action):
    resource_id: str
    keys: tuple[str, ...]

    def describe(self) -> str:
        return f"remove tags {', '.join(self.keys)} from {self.resource_id}"


class StatusStep(Action):
    """A step written to the object's status only (no AWS call), persisted before anything else happens.

    ``status_update(now)``: the status fields it sets, through the typed status model (a field set to None is
    removed). ``pause``: when not None, the reconcile stops after writing it and looks again at once, with this
    Synced reason (so the step is stored in the API before the AWS call that depends on it).
    """

    pause: ClassVar[BlockReason | None] = None

    def status_update(self, now: str) -> AwsAccountStatus:
        raise NotImplementedError


@dataclass(frozen=True)
class RecordCreationIntent(StatusStep):
    """Write the intent to create into the object's status before calling CreateAccount (no AWS call)."""

    account_name: str
    email: str
    pause = "Creating"

    def status_update(self, now: str) -> AwsAccountStatus:
        return AwsAccountStatus(creation_started_at=now, email=self.email, create_account_request_id=None)

    def describe(self) -> str:
        return f"about to create account {self.account_name!r} <{self.email}>"


@dataclass(frozen=True)
class BindCreateRequest(StatusStep):
    """A CreateAccount request already made for this object (found after a restart): record its id."""

    request_id: str
    pause = "CreationInProgress"

    def status_update(self, now: str) -> AwsAccountStatus:
        return AwsAccountStatus(create_account_request_id=self.request_id)

    def describe(self) -> str:
        return f"resume following CreateAccount request {self.request_id}"


@dataclass(frozen=True)
class ForgetCreateRequest(StatusStep):
    """Clear a failed CreateAccount request from status so that a later attempt starts over."""

    request_id: str

    def status_update(self, now: str) -> AwsAccountStatus:
        return AwsAccountStatus(create_account_request_id=None, creation_started_at=None)

    def describe(self) -> str:
        return f"forget failed CreateAccount request {self.request_id}"


@dataclass(frozen=True)
class RecordInvitationIntent(StatusStep):
    """Record, before calling InviteAccountToOrganization, that this object is about to invite the account: after a
    crash the next look finds the invitation sent (ListHandshakesForOrganization) instead of sending another."""

    account_id: str
    key: str
    pause = "Inviting"

    def status_update(self, now: str) -> AwsAccountStatus:
        return AwsAccountStatus(invitation_started_at=now, invitation_for=self.key, invitation_handshake_id=None,
                                invitation_state=None, invitation_expires_at=None)

    def describe(self) -> str:
        return f"about to invite account {self.account_id} to the organization"


@dataclass(frozen=True)
class BindInvitation(StatusStep):
    """An open invitation to the account found after the intent (sent before a crash, or by hand): record it."""

    handshake_id: str
    state: str
    expires: str | None
    pause = "Invited"

    def status_update(self, now: str) -> AwsAccountStatus:
        return AwsAccountStatus(invitation_handshake_id=self.handshake_id, invitation_state=self.state,
                                invitation_expires_at=self.expires)

    def describe(self) -> str:
        return f"resume following invitation {self.handshake_id} ({self.state})"


@dataclass(frozen=True)
class ForgetInvitation(StatusStep):
    """spec.invite changed since the last invitation: forget it, so that a new one is sent (once it has ended)."""

    handshake_id: str | None
    pause = "Inviting"

    def status_update(self, now: str) -> AwsAccountStatus:
        return AwsAccountStatus(invitation_started_at=None, invitation_for=None, invitation_handshake_id=None,
                                invitation_state=None, invitation_expires_at=None)

    def describe(self) -> str:
        return f"spec.invite changed: a new invitation replaces {self.handshake_id or 'the last one'}"


@dataclass(frozen=True)
class InviteAccount(Action):
    account_id: str
    notes: str | None
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"invite account {self.account_id} to the organization"


@dataclass(frozen=True)
class CancelInvitation(Action):
    """The object of an invited account is deleted before the account answered: the invitation it sent is
    withdrawn, so the account cannot join later with no object to manage it."""

    handshake_id: str

    def describe(self) -> str:
        return f"cancel invitation {self.handshake_id} (its object is deleted before the account answered)"


@dataclass(frozen=True)
class CreateAccount(Action):
    account_name: str
    email: str
    role_name: str
    iam_user_access_to_billing: str
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"create account {self.account_name!r} <{self.email}>"


@dataclass(frozen=True)
class MoveAccount(Action):
    account_id: str
    source_parent_id: str
    destination_parent_id: str

    def describe(self) -> str:
        return f"move account {self.account_id} from {self.source_parent_id} to {self.destination_parent_id}"


@dataclass(frozen=True)
class RenameAccount(Action):
    account_id: str
    name: str
    old_name: str

    def describe(self) -> str:
        return f"rename account {self.account_id} from {self.old_name!r} to {self.name!r}"


@dataclass(frozen=True)
class CloseAccount(Action):
    account_id: str

    def describe(self) -> str:
        return f"close account {self.account_id}"


@dataclass(frozen=True)
class RemoveAccount(Action):
    account_id: str

    def describe(self) -> str:
        return f"remove account {self.account_id} from the organization"


@dataclass(frozen=True)
class EnablePolicyType(Action):
    """A prerequisite: AWS then attaches the type's default policy everywhere, so what follows it is planned
    from a fresh observation (``prerequisite``)."""

    root_id: str
    policy_type: str
    prerequisite = True

    def describe(self) -> str:
        return f"enable {self.policy_type} on {self.root_id}"


@dataclass(frozen=True)
class CreatePolicy(Action):
    name: str
    description: str
    policy_type: str
    content: str
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"create {self.policy_type} {self.name!r} ({len(self.content)} characters)"


@dataclass(frozen=True)
class UpdatePolicy(Action):
    """Change what differs: each of ``name``, ``description``, ``content`` is None when unchanged."""

    policy_id: str
    name: str | None = None
    description: str | None = None
    content: str | None = None

    def describe(self) -> str:
        changed = [f for f in ("name", "description", "content") if getattr(self, f) is not None]
        return f"update policy {self.policy_id}: {', '.join(changed)}"


@dataclass(frozen=True)
class AttachPolicy(Action):
    """``policy_id`` None: the policy created by the same plan."""

    policy_id: str | None
    policy_name: str
    target_id: str
    target: str  # how a person knows the target: OU 'Production' (ou-...)

    def depends_on(self) -> type[Action] | None:
        return CreatePolicy if self.policy_id is None else None

    def describe(self) -> str:
        return f"attach policy {self.policy_name!r} to {self.target}"


@dataclass(frozen=True)
class DetachPolicy(Action):
    policy_id: str
    policy_name: str
    target_id: str
    target: str

    def describe(self) -> str:
        return f"detach policy {self.policy_name!r} from {self.target}"


@dataclass(frozen=True)
class DeletePolicy(Action):
    policy_id: str
    name: str

    def describe(self) -> str:
        return f"delete policy {self.name!r} ({self.policy_id})"


@dataclass(frozen=True)
class EnableAllFeatures(Action):
    """Start AWS's all-features handshake: invited member accounts approve, then the management account
    finalizes (``FinalizeAllFeatures``); the object waits meanwhile."""

    def describe(self) -> str:
        return "request all features for the organization (EnableAllFeatures handshake)"


@dataclass(frozen=True)
class FinalizeAllFeatures(Action):
    """Accept the APPROVE_ALL_FEATURES handshake AWS sends the management account once every invited
    member account has approved: the organization then has all features. A prerequisite: the rest is
    planned from a fresh observation."""

    handshake_id: str
    prerequisite = True

    def describe(self) -> str:
        return f"finalize all features (accept handshake {self.handshake_id})"


@dataclass(frozen=True)
class DisablePolicyType(Action):
    """AWS detaches every policy of the type when it is disabled: planned only when none is attached."""

    root_id: str
    policy_type: str

    def describe(self) -> str:
        return f"disable {self.policy_type} on {self.root_id}"


@dataclass(frozen=True)
class EnableServiceAccess(Action):
    service_principal: str

    def describe(self) -> str:
        return f"enable trusted access for {self.service_principal}"


@dataclass(frozen=True)
class EnableRootAccessFeature(Action):
    """Enable one of IAM's centralized root access features (RootCredentialsManagement, RootSessions)."""

    feature: str

    def depends_on(self) -> type[Action] | None:
        return EnableServiceAccess  # IAM refuses without trusted access for iam.amazonaws.com

    def describe(self) -> str:
        return f"enable IAM's centralized root access feature {self.feature}"


@dataclass(frozen=True)
class DisableRootAccessFeature(Action):
    feature: str

    def describe(self) -> str:
        return f"disable IAM's centralized root access feature {self.feature}"


@dataclass(frozen=True)
class RegisterDelegatedAdministrator(Action):
    account_id: str
    service_principal: str
    account: str  # how a person knows it: account 'Shared Services' (1234...)

    def describe(self) -> str:
        return f"register {self.account} as delegated administrator for {self.service_principal}"


@dataclass(frozen=True)
class DeregisterDelegatedAdministrator(Action):
    account_id: str
    service_principal: str
    account: str

    def describe(self) -> str:
        return f"deregister {self.account} as delegated administrator for {self.service_principal}"


@dataclass(frozen=True)
class CreateAccessRole(Action):
    """Create the access role in a member account (through the role the operator assumes there)."""

    account_id: str
    role_name: str
    trust_policy: str
    max_session_duration: int = limits.ROLE_SESSION_DEFAULT

    def describe(self) -> str:
        return f"create role {self.role_name!r} in account {self.account_id}"


@dataclass(frozen=True)
class UpdateAccessRoleTrust(Action):
    account_id: str
    role_name: str
    trust_policy: str

    def describe(self) -> str:
        return f"put back the trust policy of role {self.role_name!r} in account {self.account_id}"


@dataclass(frozen=True)
class UpdateAccessRoleMaxSession(Action):
    """Set the access role's maximum session duration (IAM UpdateRole)."""

    account_id: str
    role_name: str
    max_session_duration: int
    previous: int

    def describe(self) -> str:
        return (f"set the maximum session duration of role {self.role_name!r} in account {self.account_id} to "
                f"{self.max_session_duration} s (now {self.previous} s)")


@dataclass(frozen=True)
class AttachRolePolicy(Action):
    account_id: str
    role_name: str
    policy_arn: str

    def describe(self) -> str:
        return f"attach {self.policy_arn} to role {self.role_name!r} in account {self.account_id}"


@dataclass(frozen=True)
class DetachRolePolicy(Action):
    account_id: str
    role_name: str
    policy_arn: str

    def describe(self) -> str:
        return f"detach {self.policy_arn} from role {self.role_name!r} in account {self.account_id}"

# Central logging.


@dataclass(frozen=True)
class CreateLogBucket(Action):
    account_id: str
    region: str
    bucket: str

    def describe(self) -> str:
        return f"create log bucket {self.bucket!r} in account {self.account_id} ({self.region})"


class _AfterBucket(Action):
    """Needs the log bucket: skipped when creating it failed in the same plan."""

    def depends_on(self) -> type[Action] | None:
        return CreateLogBucket


@dataclass(frozen=True)
class EncryptLogBucket(_AfterBucket):
    account_id: str
    region: str
    bucket: str
    kms_key: str | None = None  # SSE-KMS with this key (and an S3 Bucket Key); None: SSE-S3

    def describe(self) -> str:
        how = f"SSE-KMS, key {self.kms_key}" if self.kms_key else "SSE-S3"
        return f"turn on default encryption ({how}) of log bucket {self.bucket!r}"


@dataclass(frozen=True)
class VersionLogBucket(_AfterBucket):
    """Versioning on the log bucket: a log file overwritten or deleted stays as a noncurrent version (audit
    evidence; the retention rule expires those too)."""

    account_id: str
    region: str
    bucket: str

    def describe(self) -> str:
        return f"turn on versioning of log bucket {self.bucket!r}"


@dataclass(frozen=True)
class BlockLogBucketPublicAccess(_AfterBucket):
    account_id: str
    region: str
    bucket: str

    def describe(self) -> str:
        return f"block all public access to log bucket {self.bucket!r}"


@dataclass(frozen=True)
class PutLogBucketRetention(_AfterBucket):
    """The lifecycle of the log bucket: the operator's rule (objects and noncurrent versions expired after ``days``;
    None: no rule, logs kept forever) and ``kept``, the rules added by hand that keep logs at least as long (JSON).
    Neither: the lifecycle configuration deleted."""

    account_id: str
    region: str
    bucket: str
    days: int | None
    kept: tuple[str, ...] = ()
    #: what the bucket had: ``existing`` (False: a bucket this plan creates) and its rule's days (None: no rule
    #: expired its logs): the administrator's policy refuses lowering retention (controller.planner.guardrails)
    existing: bool = False
    previous_days: int | None = None

    def describe(self) -> str:
        keep = f", keeping {len(self.kept)} rule(s) added by hand" if self.kept else ""
        if self.days is None:
            return f"remove the lifecycle rules of log bucket {self.bucket!r} that expire logs{keep}"
        return f"expire objects of log bucket {self.bucket!r} after {self.days} days{keep}"


@dataclass(frozen=True)
class LockLogBucket(_AfterBucket):
    """Object Lock on the log bucket with a default retention (S3 needs versioning on first; once enabled, Object
    Lock cannot be turned off)."""

    account_id: str
    region: str
    bucket: str
    mode: str
    days: int

    def describe(self) -> str:
        return f"lock objects of log bucket {self.bucket!r} ({self.mode}, {self.days} days by default)"


@dataclass(frozen=True)
class PutLogBucketPolicy(_AfterBucket):
    account_id: str
    region: str
    bucket: str
    policy: str

    def describe(self) -> str:
        return f"set the policy of log bucket {self.bucket!r} (CloudTrail and Config of this organization only)"


@dataclass(frozen=True)
class PutOrganizationTrail(_AfterBucket):
    """Create the organization trail, or update it to multi-region, log file validation, into the bucket."""

    region: str
    name: str
    bucket: str
    exists: bool = False
    previous_bucket: str | None = None  # the bucket it logs into now (the policy refuses re-pointing it)

    def describe(self) -> str:
        verb = "update" if self.exists else "create"
        return f"{verb} organization trail {self.name!r} ({self.region}) into bucket {self.bucket!r}"


@dataclass(frozen=True)
class StartTrailLogging(_AfterBucket):
    region: str
    name: str

    def describe(self) -> str:
        return f"start logging of trail {self.name!r}"


@dataclass(frozen=True)
class PutTrailEventSelectors(_AfterBucket):
    """The trail's event selectors with management events read and write, no excluded source (``selectors``: JSON
    of the PutEventSelectors arguments, the data event selectors there kept)."""

    region: str
    name: str
    selectors: str

    def describe(self) -> str:
        return f"log all management events (read and write, no source excluded) on trail {self.name!r}"


@dataclass(frozen=True)
class StopTrailLogging(Action):
    region: str
    name: str

    def describe(self) -> str:
        return f"stop logging of trail {self.name!r}"


@dataclass(frozen=True)
class DeleteOrganizationTrail(Action):
    region: str
    name: str

    def describe(self) -> str:
        return f"delete organization trail {self.name!r}"


@dataclass(frozen=True)
class PutConfigRecorder(_AfterBucket):
    """AWS Config in one member account and region: recorder, delivery channel into the bucket, recording."""

    account_id: str
    region: str
    bucket: str
    recorder: str | None = None  # the recorder there already (AWS allows one per region)
    global_resources: bool = False  # includeGlobalResourceTypes: in one region only (central_logging.global_region)
    previous_bucket: str | None = None  # where its delivery channel delivers now (the re-pointing rule)

    def describe(self) -> str:
        return f"record AWS Config in account {self.account_id} ({self.region}) into bucket {self.bucket!r}"


@dataclass(frozen=True)
class StartConfigRecorder(Action):
    account_id: str
    region: str
    recorder: str

    def describe(self) -> str:
        return f"start AWS Config recorder {self.recorder!r} in account {self.account_id} ({self.region})"


@dataclass(frozen=True)
class RemoveConfigRecorder(Action):
    account_id: str
    region: str
    recorder: str

    def describe(self) -> str:
        return (f"stop and delete AWS Config recorder {self.recorder!r} and its delivery channel in account "
                f"{self.account_id} ({self.region})")


@dataclass(frozen=True)
class PutOrganizationAggregator(Action):
    account_id: str
    region: str
    name: str

    def describe(self) -> str:
        return f"create organization aggregator {self.name!r} in account {self.account_id} ({self.region})"


@dataclass(frozen=True)
class DeleteOrganizationAggregator(Action):
    account_id: str
    region: str
    name: str

    def describe(self) -> str:
        return f"delete organization aggregator {self.name!r} in account {self.account_id} ({self.region})"




# ------------------------------------------------------------------------------------ plan results


@dataclass(frozen=True)
class Difference:
    """A field where AWS differs from the spec (drift when the spec did not change)."""

    field: str
    desired: str | None
    actual: str | None


#: Why something did not happen (a plan refused, an action failed, a step that waits), as ``Synced`` reads it: every
#: reason is declared here once (crossplane-runtime's ``ConditionReason`` constants), so a misspelt one is a type
#: error. docs/operating.md explains each (tests/deploy/test_operating_guide.py).
BlockReason = Literal[
    "WaitingForReference",
    "ParentNotFound",
    "ImmutableField",
    "InvalidSpec",
    "OrgUnitNotEmpty",
    "NotFound",
    "LimitExceeded",
    "DuplicateEmail",
    "DuplicateAccount",
    "IdentityMismatch",
    "DeletionNotConfirmed",
    "CreationInProgress",
    "CreationLimitReached",
    "CreateAccountFailed",
    "AccountClosed",
    "ManagementAccount",
    "AccountRenameFailed",
    "TargetNotFound",
    "LastPolicyOnTarget",
    "DuplicateName",
    "PolicyTypeNotEnabled",
    "ReferenceCycle",
    "WaitingForAllFeatures",
    "WaitingForAccountAccess",
    "BucketNameTaken",
    "KmsKeyPolicyInsufficient",
    "CannotLeaveOrganization",
    "WaitingForPropagation",
    "Creating",
    "RootAccessRefused",
    "Closing",
    "CloseQuotaReached",
    "Inviting",
    "Invited",
    "InvitationEnded",
    "InvitationLimitReached",
    "AccountQuotaReached",
    # AWS's refusals of an action (controller.reconciler.status.AWS_REASONS; AwsError for any other)
    "AwsError",
    "AwsThrottled",
    "AlreadyExists",
    "AccessDenied",
    "OrganizationNotFound",
    "BlockedByPolicy",
    "ForbiddenByPolicy",
]

# Blocked reasons that are waits, not failures: looked at again soon, not backed off, not logged as errors.
WAIT_REASONS: frozenset[BlockReason] = frozenset({"WaitingForReference", "CreationInProgress", "CreationLimitReached",
                                                  "WaitingForAllFeatures", "WaitingForAccountAccess",
                                                  "WaitingForPropagation", "Closing", "Inviting", "Invited",
                                                  "InvitationLimitReached"})


@dataclass(frozen=True)
class Blocked:
    """Something did not happen (the plan cannot proceed, or one of its actions failed in AWS): why, in words a
    person can act on, and whether retrying may help. One type for the planner's refusals and the engine's
    failed actions."""

    reason: BlockReason
    message: str
    retry: bool = True
    #: retrying cannot help before a person acts (a quota to raise): looked at again at the resync interval only
    slow: bool = False


def creation_limit_reached(in_flight: int | None) -> Blocked:
    """The planner's check before CreateAccount, the gateway's guard under its lock and AWS's own refusal
    (ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED; ``in_flight`` None: AWS did not say how many) say this in one way."""
    count = f"{in_flight} account creations are" if in_flight is not None else \
        "AWS answered ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED: as many account creations as it allows are"
    return Blocked("CreationLimitReached", f"{count} in progress in the organization and "
                   f"AWS allows {limits.MAX_CREATIONS_IN_FLIGHT} at a time; this one starts when a slot frees up")


def invitation_limit_reached(sent: int) -> Blocked:
    """The planner's count before InviteAccountToOrganization and AWS's refusal say this in one way."""
    return Blocked("InvitationLimitReached", f"{sent} invitations were sent in the last 24 hours and AWS allows "
                   f"{limits.INVITATIONS_PER_DAY} a day (HANDSHAKE_RATE_LIMIT_EXCEEDED beyond); this one is sent when "
                   "the day's count allows, looked at again at each resync", slow=True)


def duplicate_account(account_id: str, owner: str, *, by_spec: bool = True) -> Blocked:
    """A second AwsAccount naming (``spec.accountId``) or bound to an account another one already declares."""
    where = "spec.accountId" if by_spec else "status.id"
    return Blocked("DuplicateAccount", f"{where}: account {account_id} is already declared by AwsAccount {owner!r}; "
                   "one AwsAccount per AWS account, so this object is not acted on (deleting it changes nothing in "
                   "AWS). Point spec.accountId at another account, or delete this object")


def duplicate_email(email: str, owner: str) -> Blocked:
    """A second AwsAccount declaring an email another one already declares."""
    return Blocked("DuplicateEmail", f"spec.email: {email} is already declared by AwsAccount {owner!r}; one account "
                   "per email, so this object is not acted on")


@dataclass(frozen=True)
class Plan:
    """Desired spec + observed state -> what to do.

    ``resource_id`` is the AWS id the object is (or will be, after ``actions``) bound to;
    ``adopted`` is true when it was found in AWS rather than previously recorded; ``created``, when it was found
    as what this object's own creation made (a CreateAccount request recorded in its status, now SUCCEEDED).
    ``fresh``: those of ``actions`` that are new work rather than corrections (a new account's baseline), carried
    out under ``AWSORG_DRIFT_POLICY=report`` too (never under ``managementPolicy: Observe``).
    """

    actions: tuple[Action, ...] = ()
    differences: tuple[Difference, ...] = ()
    blocked: Blocked | None = None
    resource_id: str | None = None
    adopted: bool = False
    fresh: tuple[Action, ...] = ()
    created: bool = False
    #: (a deletion's plan) what the object's status shows of the resource while it waits, or when it goes
    status: AwsAccountStatus | None = None
    #: (a deletion's plan) the resource is gone or closed as asked: the ``Released`` event's message
    released: str | None = None

    @property
    def in_sync(self) -> bool:
        return not self.actions and not self.differences and self.blocked is None
