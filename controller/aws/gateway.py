"""The AWS Organizations gateway: typed methods over boto3 and one shared organization snapshot.

The snapshot is one paged read of the whole organization, shared by every object's reconcile.  It is
refreshed when older than the caller allows (every resync) and kept current after the operator's own
writes by applying each write's result to it, so steady-state reconciles make no per-object reads.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from botocore import xform_name

from controller import metrics
from controller.api import limits
from controller.api.models import AwsAccountStatus, OrganizationStatus
from controller.aws.central_logging import CentralLoggingGateway
from controller.aws.errors import AwsError, map_error
from controller.aws.member import MemberAccounts
from controller.aws.retry import RetryPolicy, call_with_retries
from controller.aws.writes import NOTHING_DONE, Applied, happened, write
from controller.planner.account import (
    ClosureQuota,
    close_quota_reached,
    closure_quota,
    invited,
    when_text,
)
from controller.planner.actions import (
    AttachPolicy,
    Blocked,
    CloseAccount,
    CreateAccount,
    CreateOU,
    CreatePolicy,
    DeleteOU,
    DeletePolicy,
    DeregisterDelegatedAdministrator,
    DetachPolicy,
    DisablePolicyType,
    DisableRootAccessFeature,
    EnableAllFeatures,
    EnablePolicyType,
    EnableRootAccessFeature,
    EnableServiceAccess,
    FinalizeAllFeatures,
    InviteAccount,
    MoveAccount,
    RegisterDelegatedAdministrator,
    RemoveAccount,
    RenameAccount,
    RenameOU,
    TagResource,
    UntagResource,
    UpdatePolicy,
    creation_limit_reached,
    invitation_limit_reached,
)
from controller.state import (
    CreateAccountRequest,
    MemberAccess,
    MemberConfig,
    MemberRootCredentials,
    ObservedAccount,
    ObservedHandshake,
    ObservedInvitation,
    ObservedOU,
    ObservedPolicy,
    ObservedTrail,
    OrgSnapshot,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

PAGE = 20  # the largest MaxResults AWS Organizations accepts on its List operations
READ_PREFIXES = ("List", "Describe")
OWN_REQUESTS_KEPT = 10_000  # how many of our own writes are remembered, to tell their events from drift
CREATION_RATE_LIMIT = "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED"
CLOSE_QUOTA_REASONS = frozenset({"CLOSE_ACCOUNT_QUOTA_EXCEEDED", "CLOSE_ACCOUNT_REQUESTS_LIMIT_EXCEEDED"})
DEFAULT_POLICY = limits.AWS_MANAGED_DEFAULT
NOT_CONFIGURED = {"CentralLoggingGateway": "no access to CloudTrail, S3 and Config is configured",
                  "MemberAccounts": "no access to member accounts (STS) is configured"}


@dataclass(frozen=True)
class Knowledge:
    """What the gateways know once a reconcile's writes are made: each write's method keeps it current (the dry run
    runs the same methods), so it is the observation brought up to date, with no AWS call. The engine hands it to
    the adapters' ``after``; the mappings are read-only views, not copies (thousands of member accounts)."""

    snapshot: OrgSnapshot
    trusted: frozenset[str] | None = None  # trusted access (None: never read)
    admins: Mapping[str, frozenset[str]] = field(default_factory=dict)  # service principal -> delegated admins
    member_role: str | None = None  # the role the operator assumes in member accounts (None: not configured)
    access: Mapping[str, MemberAccess] = field(default_factory=dict)  # member account -> its access role
    logging: bool = False  # central logging's gateway is configured
    trails: Mapping[tuple[str, str], ObservedTrail | None] = field(default_factory=dict)  # (region, name)
    aggregators: Mapping[tuple[str, str, str], str | None] = field(default_factory=dict)  # (account, region, name)
    config: Mapping[str, MemberConfig] = field(default_factory=dict)  # member account -> its AWS Config
    root_features: frozenset[str] | None = None  # IAM's centralized root access features (None: never read)
    root_credentials: Mapping[str, MemberRootCredentials] = field(default_factory=dict)  # member account -> root user


class OrganizationsGateway:
    """The only way the operator talks to AWS Organizations."""

    def __init__(
        self, client: Any, retry: RetryPolicy | None = None, account_client: Callable[[], Any] | None = None,
        members: MemberAccounts | None = None, central_logging: CentralLoggingGateway | None = None,
        iam_client: Callable[[], Any] | None = None,
    ) -> None:
        self._client = client
        self.members = members  # work inside member accounts (None: not configured, as in a dry run)
        self.central_logging = central_logging  # CloudTrail, S3 and Config (None: not configured, as in a dry run)
        self._retry = retry or RetryPolicy()
        self._account_client_factory = account_client
        self._account_api: Any = None
        self._iam_client_factory = iam_client  # IAM in the management account (the operator's own credentials)
        self._iam_api: Any = None
        self._root_features: frozenset[str] | None = None  # IAM's root access features as last read or written
        self._create_lock = threading.Lock()
        self._close_lock = threading.Lock()
        self._enable_lock = threading.Lock()
        self._lock = threading.RLock()
        self._snapshot: OrgSnapshot | None = None
        self.snapshots_taken = 0
        self._own_requests: dict[str, None] = {}  # request ids of this process's writes, oldest first
        # The organization's settings as last read, kept current after the operator's own writes (for status).
        self._trusted: frozenset[str] | None = None
        self._delegated: dict[str, frozenset[str]] = {}
        self._all_delegated: tuple[float, frozenset[str]] | None = None  # (when read, every delegated administrator)

    # ------------------------------------------------------------------------------ plumbing
    def part(self, gateway: str, operation: str) -> Any:
        """The gateway of that class name this one holds (itself, central logging's, the member accounts'): the one
        whose registered method carries out a write (``controller.aws.writes``)."""
        found = {"OrganizationsGateway": self, "CentralLoggingGateway": self.central_logging,
                 "MemberAccounts": self.members}.get(gateway)
        if found is None:
            raise AwsError(operation, "NotConfigured", NOT_CONFIGURED.get(gateway, f"no {gateway} is configured"))
        return found

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One AWS Organizations operation, errors mapped, transient ones retried."""
        return self._invoke(self._client, operation, kwargs)

    def _call_done_if(self, operation: str, done: str, **kwargs: Any) -> bool:
        """One write whose goal may already hold: False when AWS answers the error code ``done`` (already attached,
        already enabled, not registered, ...), which is what was asked; True when the call did it."""
        try:
            self._call(operation, **kwargs)
        except AwsError as exc:
            if exc.code != done:
                raise
            return False
        return True

    def _call_account(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One Account Management API operation, errors mapped, transient ones retried."""
        return self._invoke(self._account_client(), operation, kwargs)

    def _call_iam(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One IAM operation in the management account (the organization's root access features), errors mapped,
        transient ones retried."""
        return self._invoke(self._iam(operation), operation, kwargs)

    def _invoke(self, client: Any, operation: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        method: Callable[..., dict[str, Any]] = getattr(client, xform_name(operation))

        def once() -> dict[str, Any]:
            try:
                return method(**kwargs)
            except Exception as exc:
                raise map_error(operation, exc) from exc

        result = call_with_retries(once, self._retry)
        if not operation.startswith(READ_PREFIXES):
            request_id = (result.get("ResponseMetadata") or {}).get("RequestId")
            if request_id:  # CloudTrail's record of this write carries the same id: our own, not drift
                with self._lock:
                    self._own_requests[request_id] = None
                    while len(self._own_requests) > OWN_REQUESTS_KEPT:
                        self._own_requests.pop(next(iter(self._own_requests)))
        return result

    def is_own_write(self, request_id: str | None) -> bool:
        """Whether this process made the write with this request id (AWS's RequestId, CloudTrail's requestID)."""
        with self._lock:
            return bool(request_id) and request_id in self._own_requests

    def _pages(self, operation: str, key: str, page_size: int | None = PAGE, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paged List operation (``page_size`` None: the operation takes no MaxResults)."""
        token: str | None = None
        while True:
            args = dict(kwargs, MaxResults=page_size) if page_size else dict(kwargs)
            if token:
                args["NextToken"] = token
            page = self._call(operation, **args)
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return

    # ------------------------------------------------------------------------------ snapshot
    def snapshot(self, max_age: float | None = None) -> OrgSnapshot:
        """The shared snapshot, re-read when missing, invalidated or older than ``max_age`` seconds."""
        with self._lock:
            snap = self._snapshot
            if snap is not None and (max_age is None or time.monotonic() - snap.taken_at <= max_age):
                return snap
            snap = self._read_snapshot()
            self._snapshot = snap
            self.snapshots_taken += 1
            metrics.LAST_SYNC.set(time.time())
            return snap

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None

    def update_snapshot(self, fn: Callable[[OrgSnapshot], OrgSnapshot]) -> None:
        """Apply a write's effect to the shared snapshot (the dry run's too: what AWS does on its own after one)."""
        with self._lock:
            if self._snapshot is not None:
                self._snapshot = fn(self._snapshot)

    def _read_snapshot(self) -> OrgSnapshot:
        org = self._call("DescribeOrganization")["Organization"]
        roots = list(self._pages("ListRoots", "Roots"))
        if not roots:
            raise AwsError("ListRoots", "NoRoot", "the organization has no root")
        root = roots[0]
        enabled = frozenset(
            t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"
        )
        ous: dict[str, ObservedOU] = {}
        accounts: dict[str, ObservedAccount] = {}
        queue = [root["Id"]]
        while queue:
            parent = queue.pop(0)
            for ou in self._pages("ListOrganizationalUnitsForParent", "OrganizationalUnits", ParentId=parent):
                ous[ou["Id"]] = ObservedOU(ou["Id"], ou["Arn"], ou["Name"], parent)
                queue.append(ou["Id"])
            for acct in self._pages("ListAccountsForParent", "Accounts", ParentId=parent):
                accounts[acct["Id"]] = _account(acct, parent)
        policies: dict[str, ObservedPolicy] = {}
        for ptype in sorted(enabled):
            for summary in self._pages("ListPolicies", "Policies", Filter=ptype):
                policies[summary["Id"]] = self._read_policy(summary, ptype)
        return OrgSnapshot(
            organization_id=org["Id"],
            management_account_id=org["MasterAccountId"],
            root_id=root["Id"],
            root_arn=root["Arn"],
            ous=ous,
            accounts=accounts,
            policies=policies,
            enabled_policy_types=enabled,
            feature_set=str(org.get("FeatureSet") or "ALL"),
            organization_arn=str(org.get("Arn") or ""),
        )

    def _read_policy(self, summary: Mapping[str, Any], ptype: str) -> ObservedPolicy:
        managed = bool(summary.get("AwsManaged"))
        content = None
        if not managed:
            content = self._call("DescribePolicy", PolicyId=summary["Id"])["Policy"]["Content"]
        # An AWS-managed policy (FullAWSAccess) is attached to nearly every target: listing its targets would
        # cost a call per 20 accounts on every resync. Its attachments are read per target, when a check
        # needs them (refresh_target_policies), instead.
        targets: frozenset[str] = frozenset()
        if not managed:
            targets = frozenset(
                t["TargetId"] for t in self._pages("ListTargetsForPolicy", "Targets", PolicyId=summary["Id"])
            )
        return ObservedPolicy(
            id=summary["Id"],
            arn=summary["Arn"],
            name=summary["Name"],
            description=summary.get("Description", ""),
            type=ptype,
            aws_managed=managed,
            content=content,
            target_ids=targets,
        )

    # ------------------------------------------------------------------------------ after an event
    def refresh_after(self, event_name: str, params: Mapping[str, Any]) -> frozenset[str] | None:
        """Read again just what a write made outside this operator changed, into the snapshot.

        ``event_name`` and ``params`` are CloudTrail's (``requestParameters``, lowerCamelCase). Returns the ids
        whose objects must be compared now, or None when the whole organization was read again (an event
        whose effect is not local, or one this method does not know).
        """
        with self._lock:
            snap = self._snapshot
        if snap is None:
            self.snapshot(max_age=0)
            return None
        account, ou, policy, target = (str(params.get(k) or "") for k in
                                       ("accountId", "organizationalUnitId", "policyId", "targetId"))
        if event_name in ("MoveAccount", "CloseAccount") and account:
            self.describe_account(account)
            return frozenset({account})
        if event_name == "UpdateOrganizationalUnit" and ou in snap.ous:
            raw = self._call("DescribeOrganizationalUnit", OrganizationalUnitId=ou)["OrganizationalUnit"]
            self.update_snapshot(lambda s: s.with_ou(dataclasses.replace(s.ous[ou], name=raw["Name"]))
                         if ou in s.ous else s)
            return frozenset({ou})
        if event_name == "DeleteOrganizationalUnit" and ou:
            self.update_snapshot(lambda s: s.without_ou(ou))
            return frozenset({ou})
        if event_name in ("UpdatePolicy", "AttachPolicy", "DetachPolicy") and policy in snap.policies:
            old = snap.policies[policy]
            if old.aws_managed and target:  # its targets are read per target (FullAWSAccess is everywhere)
                self.refresh_target_policies(target, old.type)
            else:
                summary = self._call("DescribePolicy", PolicyId=policy)["Policy"]["PolicySummary"]
                fresh = self._read_policy(summary, old.type)
                self.update_snapshot(lambda s: s.with_policy(fresh))
            return frozenset({policy, target} - {""})
        if event_name == "DeletePolicy" and policy:
            self.update_snapshot(lambda s: s.without_policy(policy))
            return frozenset({policy})
        if event_name in ("TagResource", "UntagResource"):
            return frozenset({str(params.get("resourceId") or "")} - {""})  # tags are read when compared
        self.snapshot(max_age=0)
        return None

    # ------------------------------------------------------------------------------ tags
    def list_tags(self, resource_id: str) -> dict[str, str]:
        tags = self._pages("ListTagsForResource", "Tags", page_size=None, ResourceId=resource_id)
        return {t["Key"]: t["Value"] for t in tags}

    @write(TagResource, "Tagged", lambda gw, a, _: gw.tag_resource(a.resource_id, a.tags))
    def tag_resource(self, resource_id: str, tags: Mapping[str, str]) -> None:
        self._call("TagResource", ResourceId=resource_id, Tags=_tag_list(tags))

    @write(UntagResource, "Untagged", lambda gw, a, _: gw.untag_resource(a.resource_id, a.keys))
    def untag_resource(self, resource_id: str, keys: tuple[str, ...]) -> None:
        self._call("UntagResource", ResourceId=resource_id, TagKeys=list(keys))

    # ------------------------------------------------------------------------------ OUs
    @write(CreateOU, "Created", lambda gw, a, _: gw.create_ou(a.parent_id, a.name, a.tags),
           yields=lambda a, ou: Applied(ou.id), symbol="+", by_name=True)
    def create_ou(self, parent_id: str, name: str, tags: Mapping[str, str]) -> ObservedOU:
        args: dict[str, Any] = {"ParentId": parent_id, "Name": name}
        if tags:
            args["Tags"] = _tag_list(tags)
        raw = self._call("CreateOrganizationalUnit", **args)["OrganizationalUnit"]
        ou = ObservedOU(raw["Id"], raw["Arn"], raw["Name"], parent_id)
        self.update_snapshot(lambda s: s.with_ou(ou))
        return ou

    @write(RenameOU, "Renamed", lambda gw, a, _: gw.rename_ou(a.ou_id, a.name))
    def rename_ou(self, ou_id: str, name: str) -> None:
        raw = self._call("UpdateOrganizationalUnit", OrganizationalUnitId=ou_id, Name=name)["OrganizationalUnit"]
        self.update_snapshot(lambda s: s.with_ou(dataclasses.replace(s.ous[ou_id], name=raw["Name"], arn=raw["Arn"]))
                     if ou_id in s.ous else s)

    @write(DeleteOU, "Deleted", lambda gw, a, _: gw.delete_ou(a.ou_id), symbol="-")
    def delete_ou(self, ou_id: str) -> None:
        self._call("DeleteOrganizationalUnit", OrganizationalUnitId=ou_id)
        self.update_snapshot(lambda s: s.without_ou(ou_id))

    # ------------------------------------------------------------------------------ accounts
    def describe_create_account_status(self, request_id: str) -> CreateAccountRequest:
        raw = self._call("DescribeCreateAccountStatus", CreateAccountRequestId=request_id)
        return _request(raw["CreateAccountStatus"])

    def list_create_account_status(self, states: tuple[str, ...] = ()) -> list[CreateAccountRequest]:
        args: dict[str, Any] = {"States": list(states)} if states else {}
        return [_request(r) for r in self._pages("ListCreateAccountStatus", "CreateAccountStatuses", **args)]

    @write(CreateAccount, "CreateAccountStarted", lambda gw, a, _: gw.create_account(
        account_name=a.account_name, email=a.email, role_name=a.role_name,
        iam_user_access_to_billing=a.iam_user_access_to_billing, tags=a.tags),
        yields=lambda a, request: Applied(
            status=AwsAccountStatus(create_account_request_id=request.id), message=f"request {request.id}",
            wait=Blocked("CreationInProgress", f"CreateAccount request {request.id} is {request.state}")),
        explain=lambda a, exc: _limit_reached(exc),
        symbol="+")
    def create_account(
        self,
        *,
        account_name: str,
        email: str,
        role_name: str,
        iam_user_access_to_billing: str,
        tags: Mapping[str, str],
        max_in_flight: int = limits.MAX_CREATIONS_IN_FLIGHT,
    ) -> CreateAccountRequest:
        """Start an account creation, unless ``max_in_flight`` are already in progress.

        The count and the call happen under one lock, so this process never exceeds the limit.
        """
        with self._create_lock:
            in_flight = len(self.list_create_account_status(("IN_PROGRESS",)))
            if in_flight >= max_in_flight:
                raise CreationLimitReached(in_flight)
            args: dict[str, Any] = {
                "AccountName": account_name,
                "Email": email,
                "RoleName": role_name,
                "IamUserAccessToBilling": iam_user_access_to_billing,
            }
            if tags:
                args["Tags"] = _tag_list(tags)
            return _request(self._call("CreateAccount", **args)["CreateAccountStatus"])

    def describe_account(self, account_id: str) -> ObservedAccount:
        raw = self._call("DescribeAccount", AccountId=account_id)["Account"]
        parents = self._call("ListParents", ChildId=account_id)["Parents"]
        account = _account(raw, parents[0]["Id"] if parents else "")
        self.update_snapshot(lambda s: s.with_account(account))
        return account

    @write(MoveAccount, "Moved", lambda gw, a, _: gw.move_account(a.account_id, a.source_parent_id,
                                                                  a.destination_parent_id))
    def move_account(self, account_id: str, source: str, destination: str) -> None:
        self._call("MoveAccount", AccountId=account_id, SourceParentId=source, DestinationParentId=destination)
        self.update_snapshot(
            lambda s: s.with_account(dataclasses.replace(s.accounts[account_id], parent_id=destination))
            if account_id in s.accounts else s
        )

    @write(RenameAccount, "Renamed", lambda gw, a, _: gw.put_account_name(a.account_id, a.name),
           explain=lambda a, exc: None if exc.transient else Blocked(
               "InvalidSpec" if exc.code == "ValidationException" else "AccountRenameFailed",
               f"spec.accountName: could not rename account {a.account_id} to {a.name!r} with the Account Management "
               f"API ({exc.code}: {exc.aws_message}). Grant account:PutAccountName to the operator's role and enable "
               "trusted access for the Account Management service, or rename it in the AWS console"))
    def put_account_name(self, account_id: str, name: str) -> None:
        """Rename a member account (the Account Management API, called from the management account)."""
        self._call_account("PutAccountName", AccountId=account_id, AccountName=name)
        self.update_snapshot(
            lambda s: s.with_account(dataclasses.replace(s.accounts[account_id], name=name))
            if account_id in s.accounts else s
        )

    @write(CloseAccount, "Closed", lambda gw, a, _: gw.close_account(a.account_id),
           done_codes=frozenset({"AccountAlreadyClosedException"}),
           yields=lambda a, _: Applied(
               status=AwsAccountStatus(state="PENDING_CLOSURE"), message="AWS answered; the account is PENDING_CLOSURE",
               wait=Blocked("Closing", f"account {a.account_id} is PENDING_CLOSURE: AWS is closing it; this object is "
                            "released once AWS shows it SUSPENDED")),
           explain=lambda a, exc: _quota_reached(a.account_id, exc) if isinstance(exc, CloseQuotaGuard)
           else Blocked(
               "CloseQuotaReached", f"account {a.account_id} is not closed yet: AWS refuses ({exc.reason}: "
               f"{exc.aws_message}); the operator's closures limit allowed it, so this organization's quota is lower "
               "or closures outside Git used it: set the limit to the quota AWS applies "
               f"({limits.setting('closures', 1)} for one a month); tried again with backoff")
           if exc.code == "ConstraintViolationException" and exc.reason in CLOSE_QUOTA_REASONS else None)
    def close_account(self, account_id: str) -> None:
        """CloseAccount, when the closure quota as the snapshot counts it allows one more (checked and counted under
        one lock, so two deletions at once do not both take the last one)."""
        with self._close_lock:
            snap = self._snapshot
            quota = closure_quota(snap) if snap is not None else None
            if quota is not None and quota.remaining <= 0:
                raise CloseQuotaGuard(quota)
            self._call("CloseAccount", AccountId=account_id)
            self.update_snapshot(
                lambda s: s.with_account(dataclasses.replace(s.accounts[account_id], state="PENDING_CLOSURE"))
                if account_id in s.accounts else s
            )

    @write(RemoveAccount, "Removed", lambda gw, a, _: gw.remove_account(a.account_id),
           explain=lambda a, exc: Blocked(
               "CannotLeaveOrganization", f"{a.describe()}: AWS refuses ({exc.reason}: {exc.aws_message}); a person "
               f"must act: {limits.REMOVAL_CONSTRAINTS[exc.reason]} ({limits.REMOVAL_GUIDE}); tried again at each "
               "resync", slow=True)
           if exc.code == "ConstraintViolationException" and exc.reason in limits.REMOVAL_CONSTRAINTS else None)
    def remove_account(self, account_id: str) -> None:
        self._call("RemoveAccountFromOrganization", AccountId=account_id)
        self.update_snapshot(lambda s: s.without_account(account_id))

    # ------------------------------------------------------------------------------ invitations
    def list_invitations(self) -> list[ObservedInvitation]:
        """The organization's INVITE handshakes AWS still lists (open ones, and those ended in the last 30 days)."""
        found = []
        for h in self._pages("ListHandshakesForOrganization", "Handshakes", Filter={"ActionType": "INVITE"}):
            found.append(_invitation(h))
        return found

    @write(InviteAccount, "InvitationSent", lambda gw, a, _: gw.invite_account(a.account_id, a.notes, a.tags),
           done_codes=frozenset({"DuplicateHandshakeException"}),
           yields=lambda a, hs: Applied(
               status=AwsAccountStatus(invitation_handshake_id=hs.id, invitation_state=hs.state,
                                       invitation_expires_at=when_text(hs.expires_at) if hs.expires_at else None),
               message=f"handshake {hs.id}", wait=invited(hs)),
           explain=lambda a, exc: _invite_refused(a, exc))
    def invite_account(self, account_id: str, notes: str | None, tags: Mapping[str, str]) -> ObservedInvitation:
        args: dict[str, Any] = {"Target": {"Type": "ACCOUNT", "Id": account_id}}
        if notes:
            args["Notes"] = notes
        if tags:
            args["Tags"] = _tag_list(tags)
        return _invitation(self._call("InviteAccountToOrganization", **args)["Handshake"])

    # ------------------------------------------------------------------------------ policies
    @write(EnablePolicyType, "PolicyTypeEnabled", lambda gw, a, _: gw.enable_policy_type(a.root_id, a.policy_type),
           yields=lambda a, enabled: Applied(message=_enabled_message(a.policy_type)) if enabled else NOTHING_DONE)
    def enable_policy_type(self, root_id: str, policy_type: str) -> bool:
        """Enable a policy type on the root; False when it was already enabled (by a concurrent reconcile).

        AWS then attaches the type's AWS managed default policy (FullAWSAccess, RCPFullAWSAccess) to the
        root, every OU and every account, so the snapshot is read again rather than patched.
        """
        with self._enable_lock:
            snap = self._snapshot
            if snap is not None and policy_type in snap.enabled_policy_types:
                return False  # enabled by another reconcile since the caller's snapshot was taken
            enabled = self._call_done_if("EnablePolicyType", "PolicyTypeAlreadyEnabledException", RootId=root_id,
                                         PolicyType=policy_type)
            self.invalidate()
            self.snapshot()  # re-read under the lock, so the next caller sees the type enabled
            return enabled

    @write(CreatePolicy, "Created", lambda gw, a, _: gw.create_policy(
        name=a.name, description=a.description, policy_type=a.policy_type, content=a.content, tags=a.tags),
        yields=lambda a, policy: Applied(policy.id), symbol="+", by_name=True)
    def create_policy(
        self, *, name: str, description: str, policy_type: str, content: str, tags: Mapping[str, str]
    ) -> ObservedPolicy:
        args: dict[str, Any] = {"Name": name, "Description": description, "Type": policy_type, "Content": content}
        if tags:
            args["Tags"] = _tag_list(tags)
        policy = _policy(self._call("CreatePolicy", **args)["Policy"], policy_type, frozenset())
        self.update_snapshot(lambda s: s.with_policy(policy))
        return policy

    @write(UpdatePolicy, "Updated", lambda gw, a, _: gw.update_policy(a.policy_id, name=a.name,
                                                                         description=a.description, content=a.content),
           document=lambda a, snap: None if a.content is None else (
               (snap.policies[a.policy_id].content if a.policy_id in snap.policies else None), a.content))
    def update_policy(
        self, policy_id: str, *, name: str | None = None, description: str | None = None, content: str | None = None
    ) -> None:
        args: dict[str, Any] = {"PolicyId": policy_id}
        for key, value in (("Name", name), ("Description", description), ("Content", content)):
            if value is not None:
                args[key] = value
        raw = self._call("UpdatePolicy", **args)["Policy"]

        def apply(s: OrgSnapshot) -> OrgSnapshot:
            old = s.policies.get(policy_id)
            if old is None:
                return s
            return s.with_policy(_policy(raw, old.type, old.target_ids))

        self.update_snapshot(apply)

    @write(AttachPolicy, "Attached", lambda gw, a, created: gw.attach_policy(_policy_id(a, created), a.target_id))
    def attach_policy(self, policy_id: str, target_id: str) -> None:
        """Attach (already attached: fine, that is what was asked)."""
        self._call_done_if("AttachPolicy", "DuplicatePolicyAttachmentException", PolicyId=policy_id, TargetId=target_id)
        self.update_snapshot(lambda s: _with_targets(s, policy_id, add=target_id))

    @write(DetachPolicy, "Detached", lambda gw, a, _: gw.detach_policy(a.policy_id, a.target_id))
    def detach_policy(self, policy_id: str, target_id: str) -> None:
        """Detach (not attached: fine, that is what was asked)."""
        self._call_done_if("DetachPolicy", "PolicyNotAttachedException", PolicyId=policy_id, TargetId=target_id)
        self.update_snapshot(lambda s: _with_targets(s, policy_id, remove=target_id))

    def refresh_target_policies(self, target_id: str, policy_type: str) -> None:
        """Read which policies of a type are attached to one target now, into the snapshot.

        Cheaper than a whole re-read, for checks that must not rely on a snapshot that may be stale
        (before detaching an SCP: AWS forbids detaching a target's last one).
        """
        found = {p["Id"]: p for p in self._pages("ListPoliciesForTarget", "Policies", TargetId=target_id,
                                                 Filter=policy_type)}

        def apply(s: OrgSnapshot) -> OrgSnapshot:
            for policy in list(s.policies.values()):
                if policy.type == policy_type and (target_id in policy.target_ids) != (policy.id in found):
                    s = _with_targets(s, policy.id, add=target_id) if policy.id in found else _with_targets(
                        s, policy.id, remove=target_id)
            for policy_id, summary in found.items():
                if policy_id not in s.policies:  # created outside the operator since the last read
                    s = s.with_policy(_policy({"PolicySummary": summary}, policy_type, frozenset({target_id})))
            return s

        self.update_snapshot(apply)

    @write(DeletePolicy, "Deleted", lambda gw, a, _: gw.delete_policy(a.policy_id), symbol="-")
    def delete_policy(self, policy_id: str) -> None:
        self._call("DeletePolicy", PolicyId=policy_id)
        self.update_snapshot(lambda s: s.without_policy(policy_id))

    # ------------------------------------------------------------------------------ the organization's settings
    def list_trusted_services(self) -> frozenset[str]:
        """The service principals with trusted access (one call per 20)."""
        self._trusted = frozenset(s["ServicePrincipal"] for s in self._pages("ListAWSServiceAccessForOrganization",
                                                                             "EnabledServicePrincipals"))
        return self._trusted

    def list_delegated_administrators(self, service_principal: str) -> frozenset[str]:
        """The accounts registered as delegated administrator for one service (one call per 20)."""
        found = frozenset(a["Id"] for a in self._pages("ListDelegatedAdministrators", "DelegatedAdministrators",
                                                        ServicePrincipal=service_principal))
        self._delegated[service_principal] = found
        return found

    def knowledge(self, snapshot: OrgSnapshot) -> Knowledge:
        """What the gateways know now (:class:`Knowledge`), with ``snapshot`` (the shared one): trusted access and
        delegated administrators as last read and since changed by the operator, and the member accounts' and
        central logging's readers' knowledge. No call."""
        members, logs = self.members, self.central_logging
        trails, aggregators, config = logs.known_all() if logs is not None else ({}, {}, {})
        return Knowledge(snapshot, self._trusted, MappingProxyType(self._delegated),
                         members.role_name if members is not None else None,
                         members.known_all() if members is not None else {}, logs is not None, trails, aggregators,
                         config, self._root_features, members.known_root_all() if members is not None else {})

    def all_delegated_administrators(self, max_age: float | None = None) -> frozenset[str]:
        """Every account registered as delegated administrator of any service (ListDelegatedAdministrators without a
        service principal, one call per 20 accounts), read again when older than ``max_age`` seconds: the
        administrator's policy never closes or removes one (controller.planner.guardrails)."""
        with self._lock:
            cached = self._all_delegated
        if cached is not None and max_age is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        found = frozenset(a["Id"] for a in self._pages("ListDelegatedAdministrators", "DelegatedAdministrators"))
        with self._lock:
            self._all_delegated = (time.monotonic(), found)
        return found

    def list_handshakes(self, action: str) -> list[ObservedHandshake]:
        """The organization's recent handshakes of one kind (ENABLE_ALL_FEATURES, APPROVE_ALL_FEATURES)."""
        return [ObservedHandshake(h["Id"], h.get("Action", action), h.get("State", ""))
                for h in self._pages("ListHandshakesForOrganization", "Handshakes", Filter={"ActionType": action})]

    @write(EnableAllFeatures, "AllFeaturesRequested", lambda gw, a, _: gw.enable_all_features(),
           # None: started (or finished) already: the next look finds its handshake
           yields=lambda a, handshake_id: NOTHING_DONE if handshake_id is None else Applied(
               status=OrganizationStatus(all_features_handshake_id=handshake_id), message=f"handshake {handshake_id}",
               wait=Blocked("WaitingForAllFeatures", f"handshake {handshake_id} sent to the invited member accounts; "
                            "the operator finalizes it once each has approved")))
    def enable_all_features(self) -> str | None:
        """Start the all-features handshake; its id, or None when AWS says it is started or done already."""
        try:
            raw = self._call("EnableAllFeatures")["Handshake"]
        except AwsError as exc:
            if exc.code == "HandshakeConstraintViolationException" and exc.reason in (
                    "ORGANIZATION_ALREADY_HAS_ALL_FEATURES", "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION"):
                self.invalidate()
                return None
            raise
        return str(raw["Id"])

    @write(FinalizeAllFeatures, "AllFeaturesEnabled", lambda gw, a, _: gw.accept_handshake(a.handshake_id),
           yields=lambda a, _: Applied(status=OrganizationStatus(all_features_handshake_id=None)))
    def accept_handshake(self, handshake_id: str) -> None:
        """Accept a handshake (the management account's APPROVE_ALL_FEATURES: the feature set changes)."""
        self._call_done_if("AcceptHandshake", "HandshakeAlreadyInStateException", HandshakeId=handshake_id)
        self.invalidate()  # the feature set is part of the snapshot

    @write(DisablePolicyType, "PolicyTypeDisabled", lambda gw, a, _: gw.disable_policy_type(a.root_id,
                                                                                            a.policy_type))
    def disable_policy_type(self, root_id: str, policy_type: str) -> None:
        """Disable a policy type (AWS detaches every policy of it); not enabled: fine, that is what was asked."""
        self._call_done_if("DisablePolicyType", "PolicyTypeNotEnabledException", RootId=root_id,
                           PolicyType=policy_type)
        self.invalidate()  # the type's policies and their attachments are gone

    @write(EnableServiceAccess, "TrustedAccessEnabled", lambda gw, a, _: gw.enable_service_access(
        a.service_principal), explain=lambda a, exc: _unknown_principal(exc, a.service_principal, "trusted access",
                                                                        "spec.trustedServices"))
    def enable_service_access(self, service_principal: str) -> None:
        """Enable trusted access (enabling an enabled service changes nothing, in AWS too)."""
        self._call("EnableAWSServiceAccess", ServicePrincipal=service_principal)
        self._trusted = (self._trusted or frozenset()) | {service_principal}

    @write(RegisterDelegatedAdministrator, "DelegatedAdministratorRegistered",
           lambda gw, a, _: gw.register_delegated_administrator(a.account_id, a.service_principal), yields=happened,
           explain=lambda a, exc: _unknown_principal(exc, a.service_principal, "a delegated administrator",
                                                     "spec.delegatedAdministrators"))
    def register_delegated_administrator(self, account_id: str, service_principal: str) -> bool:
        """Register; False when it already was (AccountAlreadyRegisteredException)."""
        registered = self._call_done_if("RegisterDelegatedAdministrator", "AccountAlreadyRegisteredException",
                                        AccountId=account_id, ServicePrincipal=service_principal)
        self._delegated[service_principal] = self._delegated.get(service_principal, frozenset()) | {account_id}
        if self._all_delegated is not None:
            self._all_delegated = (self._all_delegated[0], self._all_delegated[1] | {account_id})
        return registered

    @write(DeregisterDelegatedAdministrator, "DelegatedAdministratorDeregistered",
           lambda gw, a, _: gw.deregister_delegated_administrator(a.account_id, a.service_principal), yields=happened)
    def deregister_delegated_administrator(self, account_id: str, service_principal: str) -> bool:
        """Deregister; False when it was not registered (AccountNotRegisteredException)."""
        deregistered = self._call_done_if("DeregisterDelegatedAdministrator", "AccountNotRegisteredException",
                                          AccountId=account_id, ServicePrincipal=service_principal)
        self._delegated[service_principal] = self._delegated.get(service_principal, frozenset()) - {account_id}
        self._all_delegated = None  # it may administer another service still: read again when asked
        return deregistered

    # ------------------------------------------------------------------------------ centralized root access (IAM)
    @property
    def reads_root_access(self) -> bool:
        """Whether IAM in the management account can be asked (not in a dry run given no IAM client)."""
        return self._iam_client_factory is not None

    def list_root_access_features(self) -> frozenset[str]:
        """IAM's centralized root access features enabled for the organization (ListOrganizationsFeatures, one
        call; IAM answers ServiceAccessNotEnabledException without trusted access for iam.amazonaws.com)."""
        raw = self._call_iam("ListOrganizationsFeatures")
        self._root_features = frozenset(raw.get("EnabledFeatures") or ())
        return self._root_features

    @write(EnableRootAccessFeature, "RootAccessFeatureEnabled",
           lambda gw, a, _: gw.enable_root_access_feature(a.feature),
           explain=lambda a, exc: _root_access_refused(exc, a.feature))
    def enable_root_access_feature(self, feature: str) -> None:
        """EnableOrganizationsRootCredentialsManagement or EnableOrganizationsRootSessions (both answer the features
        then enabled; enabling an enabled one changes nothing)."""
        if feature == "RootSessions":
            raw = self._call_iam("EnableOrganizationsRootSessions")
        else:
            raw = self._call_iam("EnableOrganizationsRootCredentialsManagement")
        self._root_features = _features(raw, self._root_features) | {feature}

    @write(DisableRootAccessFeature, "RootAccessFeatureDisabled",
           lambda gw, a, _: gw.disable_root_access_feature(a.feature),
           explain=lambda a, exc: _root_access_refused(exc, a.feature))
    def disable_root_access_feature(self, feature: str) -> None:
        if feature == "RootSessions":
            raw = self._call_iam("DisableOrganizationsRootSessions")
        else:
            raw = self._call_iam("DisableOrganizationsRootCredentialsManagement")
        self._root_features = _features(raw, self._root_features) - {feature}

    def _iam(self, operation: str) -> Any:
        if self._iam_api is None:
            if self._iam_client_factory is None:
                raise AwsError(operation, "NotConfigured", "no IAM client for the management account is configured")
            self._iam_api = self._iam_client_factory()
        return self._iam_api

    def _account_client(self) -> Any:
        if self._account_api is None:
            if self._account_client_factory is None:
                raise AwsError("PutAccountName", "NotConfigured", "no Account Management API client")
            self._account_api = self._account_client_factory()
        return self._account_api


def _quota_reached(account_id: str, exc: CloseQuotaGuard) -> Blocked:
    return close_quota_reached(account_id, exc.quota)


class CloseQuotaGuard(AwsError):
    """Our own guard: the closure quota (``limits.Limits.closures``) leaves no closure, as the snapshot counts."""

    def __init__(self, quota: ClosureQuota) -> None:
        super().__init__("CloseAccount", "CloseQuotaReached", f"{quota.remaining} of {quota.quota} closures remain")
        self.quota: ClosureQuota = quota


class CreationLimitReached(AwsError):
    """Our own guard: AWS allows ``limits.MAX_CREATIONS_IN_FLIGHT`` CreateAccount requests in progress at a time."""

    def __init__(self, in_flight: int) -> None:
        super().__init__(
            "CreateAccount", "CreationLimitReached", f"{in_flight} account creations are already in progress"
        )
        self.in_flight = in_flight


def _policy_id(action: AttachPolicy, created: str | None) -> str:
    """The policy an AttachPolicy attaches: its own id, or the one CreatePolicy made earlier in the same plan."""
    policy_id = action.policy_id or created
    if policy_id is None:
        raise ValueError(f"{action.describe()}: the policy was not created")
    return policy_id


def _default_policy(policy_type: str) -> str:
    return DEFAULT_POLICY.get(policy_type, "its default policy")


def _enabled_message(policy_type: str) -> str:
    """What enabling a type did: SCPs and RCPs get AWS's default policy everywhere; management types nothing."""
    if policy_type not in DEFAULT_POLICY:
        return f"{policy_type} enabled on the root (AWS attaches no default policy of a management type)"
    return f"AWS attached {_default_policy(policy_type)} to the root and every OU and account"


#: What IAM's refusals of the root access calls mean (botocore's iam model, the operations' errors; read 2026-12-07).
ROOT_ACCESS_REFUSALS = {
    "ServiceAccessNotEnabledException": "trusted access for IAM is not enabled in AWS Organizations; keep "
    "'iam.amazonaws.com' in spec.trustedServices",
    "CallerIsNotManagementAccountException": "only the management account can do this; the operator's credentials "
    "are another account's",
    "AccountNotManagementOrDelegatedAdministratorException": "the operator's credentials are neither the management "
    "account's nor IAM's delegated administrator's",
    "OrganizationNotInAllFeaturesModeException": "the organization does not have all features",
}


def _features(raw: Mapping[str, Any], before: frozenset[str] | None) -> frozenset[str]:
    """The features a root access write answered as enabled (or, without that answer, those known before)."""
    if "EnabledFeatures" in raw:
        return frozenset(raw["EnabledFeatures"] or ())
    return before or frozenset()


def _root_access_refused(exc: AwsError, feature: str) -> Blocked | None:
    meaning = ROOT_ACCESS_REFUSALS.get(exc.code)
    if meaning is None:
        return None
    return Blocked("RootAccessRefused", f"spec.rootAccess: IAM refused to change {feature} ({exc.code}: "
                   f"{exc.aws_message}): {meaning}; tried again at the next resync", retry=False)


def _limit_reached(exc: AwsError) -> Blocked | None:
    """The gateway's own guard, or AWS's (ConstraintViolationException ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED: "You
    attempted to exceed the number of accounts that you can create at one time", creations started elsewhere between
    the count and the call): one wait, CreationLimitReached, never an error."""
    if isinstance(exc, CreationLimitReached):
        return creation_limit_reached(exc.in_flight)
    if exc.code == "ConstraintViolationException" and exc.reason == CREATION_RATE_LIMIT:
        return creation_limit_reached(None)
    if exc.code == "ConstraintViolationException" and exc.reason == "ACCOUNT_NUMBER_LIMIT_EXCEEDED":
        # CreateAccount's errors (botocore 1.44.8) include it; AWS mostly accepts the request and FAILs it with
        # ACCOUNT_LIMIT_EXCEEDED instead (the planner's status.creationBackoff). Refused at once: no request is
        # left to count refusals by, so it is looked at again at the resync interval, never on the short backoff.
        return Blocked("AccountQuotaReached", f"CreateAccount refused (ACCOUNT_NUMBER_LIMIT_EXCEEDED: "
                       f"{exc.aws_message}): the organization is at its quota of accounts (AWS's \"Default maximum "
                       f"number of accounts\", {limits.DEFAULT_MAX_ACCOUNTS} unless raised; closed accounts count "
                       f"until AWS closes them for good); {limits.RAISE_ACCOUNT_QUOTA}; tried again at each resync",
                       slow=True)
    return None


def _unknown_principal(exc: AwsError, principal: str, what: str, field: str) -> Blocked | None:
    if exc.code != "InvalidInputException":
        return None
    return Blocked("InvalidSpec", f"{field}: AWS does not accept {what} for {principal!r} ({exc.code}: "
                   f"{exc.aws_message}); check the service principal's spelling and that the service supports it "
                   "(Organizations user guide, 'AWS services that you can use with AWS Organizations')", retry=False)


def _request(raw: Mapping[str, Any]) -> CreateAccountRequest:
    requested = raw.get("RequestedTimestamp")
    if isinstance(requested, datetime.datetime) and requested.tzinfo is None:
        requested = requested.replace(tzinfo=datetime.UTC)
    return CreateAccountRequest(
        id=raw["Id"],
        state=raw["State"],
        account_name=raw.get("AccountName", ""),
        account_id=raw.get("AccountId"),
        failure_reason=raw.get("FailureReason"),
        requested_at=requested if isinstance(requested, datetime.datetime) else None,
    )


def _policy(raw: Mapping[str, Any], policy_type: str, targets: frozenset[str]) -> ObservedPolicy:
    """An ObservedPolicy from CreatePolicy/UpdatePolicy's ``Policy`` (summary and content)."""
    summary = raw["PolicySummary"]
    return ObservedPolicy(
        id=summary["Id"],
        arn=summary["Arn"],
        name=summary["Name"],
        description=summary.get("Description", ""),
        type=summary.get("Type", policy_type),
        aws_managed=bool(summary.get("AwsManaged")),
        content=raw.get("Content"),
        target_ids=targets,
    )


def _with_targets(s: OrgSnapshot, policy_id: str, add: str | None = None, remove: str | None = None) -> OrgSnapshot:
    old = s.policies.get(policy_id)
    if old is None:
        return s
    targets = set(old.target_ids)
    if add is not None:
        targets.add(add)
    if remove is not None:
        targets.discard(remove)
    return s.with_policy(dataclasses.replace(old, target_ids=frozenset(targets)))


def _account(raw: Mapping[str, Any], parent_id: str) -> ObservedAccount:
    return ObservedAccount(
        id=raw["Id"],
        arn=raw["Arn"],
        name=raw.get("Name", ""),
        email=raw.get("Email", ""),
        state=str(raw.get("State") or raw.get("Status") or "ACTIVE"),
        parent_id=parent_id,
        joined_method=str(raw.get("JoinedMethod") or "CREATED"),
    )


def _utc(value: Any) -> datetime.datetime | None:
    if not isinstance(value, datetime.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def _invitation(raw: Mapping[str, Any]) -> ObservedInvitation:
    """An INVITE handshake: its target is the party of Type ACCOUNT (the other is the ORGANIZATION)."""
    target = next((str(p.get("Id", "")) for p in raw.get("Parties") or [] if p.get("Type") in ("ACCOUNT", "EMAIL")
                   and str(p.get("Id", "")) != ""), "")
    return ObservedInvitation(id=str(raw["Id"]), state=str(raw.get("State", "")), target=target,
                              requested_at=_utc(raw.get("RequestedTimestamp")),
                              expires_at=_utc(raw.get("ExpirationTimestamp")))


def _invite_refused(a: InviteAccount, exc: AwsError) -> Blocked | None:
    """InviteAccountToOrganization's refusals (HandshakeConstraintViolationException reasons, botocore 1.44.8)."""
    if exc.code != "HandshakeConstraintViolationException":
        return None
    if exc.reason == "HANDSHAKE_RATE_LIMIT_EXCEEDED":
        return invitation_limit_reached(limits.INVITATIONS_PER_DAY)
    if exc.reason == "ACCOUNT_NUMBER_LIMIT_EXCEEDED":
        return Blocked("LimitExceeded", f"{a.describe()}: AWS refuses (ACCOUNT_NUMBER_LIMIT_EXCEEDED: "
                       f"{exc.aws_message}): the organization's accounts, closed ones and open invitations included, "
                       f"reach its quota; {limits.RAISE_ACCOUNT_QUOTA}; tried again at each resync", slow=True)
    if exc.reason == "ALREADY_IN_AN_ORGANIZATION":
        return Blocked("InvitationEnded", f"{a.describe()}: AWS refuses (ALREADY_IN_AN_ORGANIZATION): the account is a "
                       "member of another organization; it must leave it first (its management account removes it, "
                       "or it leaves), then change spec.invite to invite it again", retry=False)
    return Blocked("InvitationEnded", f"{a.describe()}: AWS refuses ({exc.reason}: {exc.aws_message})", retry=False)


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]

