"""One dispatch from a planned action to the gateway call that carries it out, for every kind.

``execute`` makes the call; ``explain`` turns the AWS error of a failed call into what a person reads in
``Synced`` (or None when the error means the action's goal already holds).  The gateway may be the real
one or the dry-run recorder of ``awsorg plan``: this code does not know which.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.api import limits
from controller.aws.central_logging import BucketNameTaken, CentralLoggingGateway
from controller.aws.errors import AwsError
from controller.aws.gateway import CreationLimitReached, OrganizationsGateway
from controller.aws.member import AccountNotAccessible, MemberAccounts
from controller.planner.access_role import PRINCIPALS_ALLOWED
from controller.planner.actions import (
    Action,
    AttachPolicy,
    AttachRolePolicy,
    BlockLogBucketPublicAccess,
    CloseAccount,
    CreateAccessRole,
    CreateAccount,
    CreateLogBucket,
    CreateOU,
    CreatePolicy,
    DeleteOrganizationAggregator,
    DeleteOrganizationTrail,
    DeleteOU,
    DeletePolicy,
    DeregisterDelegatedAdministrator,
    DetachPolicy,
    DetachRolePolicy,
    DisablePolicyType,
    EnableAllFeatures,
    EnablePolicyType,
    EnableServiceAccess,
    EncryptLogBucket,
    FinalizeAllFeatures,
    MoveAccount,
    PutConfigRecorder,
    PutLogBucketPolicy,
    PutLogBucketRetention,
    PutOrganizationAggregator,
    PutOrganizationTrail,
    RegisterDelegatedAdministrator,
    RemoveAccount,
    RemoveConfigRecorder,
    RenameAccount,
    RenameOU,
    StartConfigRecorder,
    StartTrailLogging,
    StopTrailLogging,
    TagResource,
    UntagResource,
    UpdateAccessRoleTrust,
    UpdatePolicy,
)
from controller.reconciler.status import Failure

# The event reason of each AWS write, whatever the kind that makes it.
EVENT_REASONS: dict[type, str] = {
    CreateOU: "Created",
    RenameOU: "Renamed",
    DeleteOU: "Deleted",
    CreateAccount: "CreateAccountStarted",
    MoveAccount: "Moved",
    RenameAccount: "Renamed",
    CloseAccount: "Closed",
    RemoveAccount: "Removed",
    EnablePolicyType: "PolicyTypeEnabled",
    CreatePolicy: "Created",
    UpdatePolicy: "Updated",
    AttachPolicy: "Attached",
    DetachPolicy: "Detached",
    DeletePolicy: "Deleted",
    TagResource: "Tagged",
    UntagResource: "Untagged",
    EnableAllFeatures: "AllFeaturesRequested",
    FinalizeAllFeatures: "AllFeaturesEnabled",
    DisablePolicyType: "PolicyTypeDisabled",
    EnableServiceAccess: "TrustedAccessEnabled",
    RegisterDelegatedAdministrator: "DelegatedAdministratorRegistered",
    DeregisterDelegatedAdministrator: "DelegatedAdministratorDeregistered",
    CreateAccessRole: "AccessRoleCreated",
    UpdateAccessRoleTrust: "AccessRoleTrustPolicyUpdated",
    AttachRolePolicy: "AccessRolePolicyAttached",
    DetachRolePolicy: "AccessRolePolicyDetached",
    CreateLogBucket: "LogBucketCreated",
    EncryptLogBucket: "LogBucketEncrypted",
    BlockLogBucketPublicAccess: "LogBucketPublicAccessBlocked",
    PutLogBucketRetention: "LogBucketRetentionSet",
    PutLogBucketPolicy: "LogBucketPolicySet",
    PutOrganizationTrail: "TrailConfigured",
    StartTrailLogging: "TrailLoggingStarted",
    StopTrailLogging: "TrailLoggingStopped",
    DeleteOrganizationTrail: "TrailDeleted",
    PutConfigRecorder: "ConfigRecorderConfigured",
    StartConfigRecorder: "ConfigRecorderStarted",
    RemoveConfigRecorder: "ConfigRecorderRemoved",
    PutOrganizationAggregator: "AggregatorCreated",
    DeleteOrganizationAggregator: "AggregatorDeleted",
}
CLOSE_QUOTA_REASONS = frozenset({"CLOSE_ACCOUNT_QUOTA_EXCEEDED", "CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED"})
_DEFAULT_POLICY = {"SERVICE_CONTROL_POLICY": "FullAWSAccess", "RESOURCE_CONTROL_POLICY": "RCPFullAWSAccess"}


@dataclass(frozen=True)
class Applied:
    """What a carried-out action left: the id of what it created, status fields it sets, a message for its
    event, and a wait when it started something AWS finishes later (CreateAccount)."""


    resource_id: str | None = None
    status: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    wait: Failure | None = None
    happened: bool = True  # False: nothing needed doing after all (a concurrent reconcile did it)


def event_reason(action: Action) -> str:
    return EVENT_REASONS.get(type(action), "Updated")


def execute(gw: OrganizationsGateway, action: Action, created: str | None = None) -> Applied:
    """Carry out one action. ``created``: the id of the resource an earlier action of the plan created."""
    if isinstance(action, CreateOU):
        return Applied(gw.create_ou(action.parent_id, action.name, action.tags).id)
    if isinstance(action, RenameOU):
        gw.rename_ou(action.ou_id, action.name)
    elif isinstance(action, DeleteOU):
        gw.delete_ou(action.ou_id)
    elif isinstance(action, TagResource):
        gw.tag_resource(action.resource_id, action.tags)
    elif isinstance(action, UntagResource):
        gw.untag_resource(action.resource_id, action.keys)
    elif isinstance(action, CreateAccount):
        request = gw.create_account(account_name=action.account_name, email=action.email,
                                    role_name=action.role_name,
                                    iam_user_access_to_billing=action.iam_user_access_to_billing, tags=action.tags)
        return Applied(status={"createAccountRequestId": request.id}, message=f"request {request.id}",
                       wait=Failure("CreationInProgress", f"CreateAccount request {request.id} is {request.state}"))
    elif isinstance(action, MoveAccount):
        gw.move_account(action.account_id, action.source_parent_id, action.destination_parent_id)
    elif isinstance(action, RenameAccount):
        gw.put_account_name(action.account_id, action.name)
    elif isinstance(action, CloseAccount):
        gw.close_account(action.account_id)
    elif isinstance(action, RemoveAccount):
        gw.remove_account(action.account_id)
    elif isinstance(action, EnablePolicyType):
        if gw.enable_policy_type(action.root_id, action.policy_type):
            default = _DEFAULT_POLICY.get(action.policy_type, "its default policy")
            return Applied(message=f"AWS attached {default} to the root and every OU and account")
        return Applied(happened=False)
    elif isinstance(action, CreatePolicy):
        return Applied(gw.create_policy(name=action.name, description=action.description,
                                        policy_type=action.policy_type, content=action.content, tags=action.tags).id)
    elif isinstance(action, UpdatePolicy):
        gw.update_policy(action.policy_id, name=action.name, description=action.description, content=action.content)
    elif isinstance(action, AttachPolicy):
        policy_id = action.policy_id or created
        if policy_id is None:
            raise ValueError(f"{action.describe()}: the policy was not created")
        gw.attach_policy(policy_id, action.target_id)
    elif isinstance(action, DetachPolicy):
        gw.detach_policy(action.policy_id, action.target_id)
    elif isinstance(action, DeletePolicy):
        gw.delete_policy(action.policy_id)
    elif isinstance(action, EnableAllFeatures):
        handshake_id = gw.enable_all_features()
        if handshake_id is None:
            return Applied(happened=False)  # started (or finished) already: the next look finds its handshake
        return Applied(status={"allFeaturesHandshakeId": handshake_id}, message=f"handshake {handshake_id}",
                       wait=Failure("WaitingForAllFeatures", f"handshake {handshake_id} sent to the invited member "
                                    "accounts; the operator finalizes it once each has approved"))
    elif isinstance(action, FinalizeAllFeatures):
        gw.accept_handshake(action.handshake_id)
        return Applied(status={"allFeaturesHandshakeId": None})
    elif isinstance(action, DisablePolicyType):
        gw.disable_policy_type(action.root_id, action.policy_type)
    elif isinstance(action, EnableServiceAccess):
        gw.enable_service_access(action.service_principal)
    elif isinstance(action, RegisterDelegatedAdministrator):
        if not gw.register_delegated_administrator(action.account_id, action.service_principal):
            return Applied(happened=False)
    elif isinstance(action, DeregisterDelegatedAdministrator):
        if not gw.deregister_delegated_administrator(action.account_id, action.service_principal):
            return Applied(happened=False)
    elif isinstance(action, CreateAccessRole):
        _members(gw, "CreateRole").create_role(action.account_id, action.role_name, action.trust_policy)
    elif isinstance(action, UpdateAccessRoleTrust):
        _members(gw, "UpdateAssumeRolePolicy").update_trust_policy(action.account_id, action.role_name,
                                                                   action.trust_policy)
    elif isinstance(action, AttachRolePolicy):
        _members(gw, "AttachRolePolicy").attach_policy(action.account_id, action.role_name, action.policy_arn)
    elif isinstance(action, DetachRolePolicy):
        _members(gw, "DetachRolePolicy").detach_policy(action.account_id, action.role_name, action.policy_arn)
    elif not _logging(gw, action):  # StatusStep and anything new: the engine never sends them here
        raise TypeError(f"no gateway call for {action!r}")
    return Applied()


def _logging(gw: OrganizationsGateway, action: Action) -> bool:
    """Carry out a central logging action; False: not one."""
    logs = gw.central_logging
    if not isinstance(action, CreateLogBucket | EncryptLogBucket | BlockLogBucketPublicAccess | PutLogBucketRetention
                      | PutLogBucketPolicy | PutOrganizationTrail | StartTrailLogging | StopTrailLogging
                      | DeleteOrganizationTrail | PutConfigRecorder | StartConfigRecorder | RemoveConfigRecorder
                      | PutOrganizationAggregator | DeleteOrganizationAggregator):
        return False
    if logs is None:
        raise AwsError(type(action).__name__, "NotConfigured", "no access to CloudTrail, S3 and Config is configured")
    _LOGGING[type(action)](logs, action)
    return True


_LOGGING: dict[type, Callable[[CentralLoggingGateway, Any], object]] = {
    CreateLogBucket: lambda g, a: g.create_bucket(a.account_id, a.region, a.bucket),
    EncryptLogBucket: lambda g, a: g.put_bucket_encryption(a.account_id, a.region, a.bucket),
    BlockLogBucketPublicAccess: lambda g, a: g.block_public_access(a.account_id, a.region, a.bucket),
    PutLogBucketRetention: lambda g, a: g.put_retention(a.account_id, a.region, a.bucket, a.days),
    PutLogBucketPolicy: lambda g, a: g.put_bucket_policy(a.account_id, a.region, a.bucket, a.policy),
    PutOrganizationTrail: lambda g, a: (g.update_trail if a.exists else g.create_trail)(a.region, a.name, a.bucket),
    StartTrailLogging: lambda g, a: g.start_logging(a.region, a.name),
    StopTrailLogging: lambda g, a: g.stop_logging(a.region, a.name),
    DeleteOrganizationTrail: lambda g, a: g.delete_trail(a.region, a.name),
    PutConfigRecorder: lambda g, a: g.ensure_recorder(a.account_id, a.region, a.bucket, a.recorder),
    StartConfigRecorder: lambda g, a: g.start_recorder(a.account_id, a.region, a.recorder),
    RemoveConfigRecorder: lambda g, a: g.remove_recorder(a.account_id, a.region, a.recorder),
    PutOrganizationAggregator: lambda g, a: g.put_aggregator(a.account_id, a.region, a.name),
    DeleteOrganizationAggregator: lambda g, a: g.delete_aggregator(a.account_id, a.region, a.name),
}


def _members(gw: OrganizationsGateway, operation: str) -> MemberAccounts:
    if gw.members is None:
        raise AwsError(operation, "NotConfigured", "no access to member accounts (STS) is configured")
    return gw.members


def explain(action: Action, exc: AwsError) -> Failure | None:
    """The failure a person reads for a failed action; None when the error means it is done already."""
    if isinstance(exc, AccountNotAccessible):
        return Failure("WaitingForAccountAccess", f"{action.describe()}: the role the operator assumes there is "
                       f"not assumable ({exc.code}: {exc.aws_message}); tried again on the next resync")
    if isinstance(action, CreateAccessRole | UpdateAccessRoleTrust) and exc.code == "MalformedPolicyDocument":
        # IAM resolves every role and user principal when it stores a trust policy: one that is malformed or names
        # a role or user that does not exist (yet) is refused. The spec must change (or the principal be created):
        # not retried at the backoff's rate; the next resync looks again.
        return Failure("InvalidSpec", f"spec.accessRole.trustedPrincipals: IAM refused the trust policy of role "
                       f"{action.role_name!r} in account {action.account_id} ({exc.code}: {exc.aws_message}); allowed: "
                       f"{PRINCIPALS_ALLOWED}, a role or user only once it exists. Create the principal first or fix "
                       "the list; looked at again on the next resync", retry=False)
    if isinstance(exc, BucketNameTaken):
        return Failure("BucketNameTaken", f"spec.centralLogging.bucketName: bucket {getattr(action, 'bucket', '')!r} "
                       "belongs to another AWS account (S3 bucket names are global across AWS), so it cannot be "
                       "created in the log archive account; choose another name", retry=False)
    if isinstance(exc, CreationLimitReached):
        return Failure("CreationLimitReached",
                       f"{exc.in_flight} account creations are in progress in the organization and AWS allows "
                       f"{limits.MAX_CREATIONS_IN_FLIGHT} at a time; this one starts when a slot frees up")
    if isinstance(action, RemoveAccount) and exc.code == "ConstraintViolationException" and (
            exc.reason in limits.REMOVAL_CONSTRAINTS):
        return Failure("CannotLeaveOrganization",
                       f"{action.describe()}: AWS refuses ({exc.reason}: {exc.aws_message}); a person must act: "
                       f"{limits.REMOVAL_CONSTRAINTS[exc.reason]} ({limits.REMOVAL_GUIDE}); tried again at each "
                       "resync", slow=True)
    if isinstance(action, CloseAccount) and exc.code == "AccountAlreadyClosedException":
        return None
    hint = limits.refusal_hint(exc.reason, getattr(action, "policy_type", None)) if (
        exc.code == "ConstraintViolationException") else None
    if hint is not None:
        return Failure("LimitExceeded", f"{action.describe()}: AWS refuses ({exc.reason}: {exc.aws_message}); {hint}")
    if isinstance(action, CloseAccount) and exc.code == "ConstraintViolationException" and (
            exc.reason in CLOSE_QUOTA_REASONS):
        return Failure("LimitExceeded", f"AWS's account closure quota is reached ({exc.reason}); closing "
                       f"{action.account_id} is retried later")
    if isinstance(action, RenameAccount) and not exc.transient:
        return Failure(
            "InvalidSpec" if exc.code == "ValidationException" else "AccountRenameFailed",
            f"spec.accountName: could not rename account {action.account_id} to {action.name!r} with the Account "
            f"Management API ({exc.code}: {exc.aws_message}). Grant account:PutAccountName to the operator's role "
            "and enable trusted access for the Account Management service, or rename it in the AWS console",
        )
    if isinstance(action, EnableServiceAccess | RegisterDelegatedAdministrator) and (
            exc.code == "InvalidInputException"):
        what = "trusted access" if isinstance(action, EnableServiceAccess) else "a delegated administrator"
        field = "spec.trustedServices" if isinstance(action, EnableServiceAccess) else "spec.delegatedAdministrators"
        return Failure("InvalidSpec", f"{field}: AWS does not accept {what} for {action.service_principal!r} "
                       f"({exc.code}: {exc.aws_message}); check the service principal's spelling and that the "
                       "service supports it (Organizations user guide, 'AWS services that you can use with AWS "
                       "Organizations')", retry=False)
    return Failure.of(exc)
