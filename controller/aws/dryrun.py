"""The dry-run gateway of ``awsorg plan``: reads AWS, records writes instead of making them.

It is the operator's own gateway (the same typed methods, reached through the same registrations of
``controller.aws.writes``, the same snapshot bookkeeping after each write), with one difference: its one
transport (``_call``) puts a write into ``recorded`` and answers what AWS would answer, and a later read sees
the recorded writes (trusted access, delegated administrators, the open handshake, the creations in progress),
so the rest of the plan sees them as the operator's next reconcile would. Only List/Describe calls reach AWS,
and the organization is read once. What is here is only what AWS itself would do or answer.

What AWS does on its own after a write is stated here, with its source:
- CreateAccount finishes later and puts the account under the root ("the new account is placed directly
  under the root", CreateAccount reference); the recorder answers SUCCEEDED at the next look, and until then
  lists the request IN_PROGRESS, so the gateway's creation limit (its count under its lock) holds here too.
- EnablePolicyType attaches the type's AWS-managed default policy (FullAWSAccess, RCPFullAWSAccess) to the
  root, every OU and every account ("When you enable SCPs, AWS Organizations attaches FullAWSAccess to
  every root, OU and account", Organizations user guide, "Enabling a policy type"); an OU or account made later
  gets it too (:data:`~controller.api.limits.AWS_MANAGED_DEFAULT`), so the plan counts it on a new target as the
  operator then does (:func:`~controller.api.limits.count_attachments`).
Resources created in the dry run get ids no AWS resource has (``ou-new~1``), never shown to a person:
``awsorg plan`` shows paths and names.

Member accounts (the Organization's access role): :class:`RecordingMembers` reads each account's role as the
operator does (AssumeRole into the account, GetRole, ListAttachedRolePolicies: STS and IAM, never AWS
Organizations; counted, so the plan can say what it cost); the IAM writes are the operator's own methods over a
:class:`RecordingClient`, which records them, so what they leave is the operator's own bookkeeping. An account the
dry run creates cannot be assumed and has no role yet but the one CreateAccount makes: the access role is planned
there without a call.

Central logging: :class:`RecordingCentralLogging` is the operator's ``CentralLoggingGateway`` over clients that record
(:class:`RecordingClient`): CloudTrail, S3, AWS Config and IAM reads (List/Describe/Get) go to AWS, once per dry
run for the trail, the bucket, the aggregator and each account's Config, and are counted; every write (CreateTrail,
CreateBucket, PutBucketPolicy, PutConfigurationRecorder, PutConfigurationAggregator, the deletes...) is recorded with
its arguments and answered as AWS would, never sent. The gateway's own bookkeeping after a write (the trail, the
recorders, the aggregator, the bucket) is what the next round sees. A log archive or member
account the dry run creates has nothing yet: no bucket, recorder or aggregator, planned without a call.
What the dry run cannot know: that a bucket name is taken by another AWS account (CreateBucket would say so).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from controller.api import limits
from controller.api.limits import AWS_MANAGED_DEFAULT
from controller.aws.central_logging import CentralLoggingGateway
from controller.aws.errors import AwsError
from controller.aws.gateway import OrganizationsGateway
from controller.aws.member import AccountNotAccessible, MemberAccounts
from controller.state import (
    CreateAccountRequest,
    MemberAccess,
    MemberConfig,
    ObservedAccount,
    ObservedBucket,
    ObservedPolicy,
    ObservedTrail,
    OrgSnapshot,
)

NEW = "new~"
DEFAULT_POLICIES = {ptype: (f"p-{name}", name) for ptype, name in AWS_MANAGED_DEFAULT.items()}
READ_PREFIXES = ("List", "Describe")
SERVICE_READS = ("List", "Describe", "Get")  # CloudTrail, S3, AWS Config, IAM: GetTrailStatus, GetBucketPolicy, ...
Record = Callable[[str, dict[str, Any]], None]
T = TypeVar("T")


#: AWS's answers that mean the plan may not read what it asked for (or has no credentials to ask): each such read is
#: an :class:`Unread`, and the plan is incomplete.
DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "NoCredentialsError",
    "PartialCredentialsError", "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
    "UnrecognizedClientException", "OrganizationAccessDeniedException",
})


@dataclass(frozen=True)
class Unread:
    """A read the plan needed and could not make: for which object, in which account, what, and AWS's answer."""

    object: str  # Kind/name of the object whose plan needed it
    account: str  # the account id (the management account for AWS Organizations and the trail)
    what: str
    error: str


class UnreadLog:
    """The reads a dry run could not make, once each, under the object being planned (``current``, set by the
    plan before each object's turn)."""

    def __init__(self) -> None:
        self.current = ""
        self._found: dict[tuple[str, str, str], Unread] = {}
        self._lock = threading.Lock()

    def add(self, account: str, what: str, error: str) -> None:
        with self._lock:
            self._found.setdefault((self.current, account, what), Unread(self.current, account, what, error))

    @property
    def entries(self) -> list[Unread]:
        with self._lock:
            return list(self._found.values())


def denied(exc: AwsError) -> bool:
    """Whether an AWS error means the read was not allowed (or had no credentials), not that the thing is absent."""
    return isinstance(exc, AccountNotAccessible) or exc.code in DENIED_CODES


def is_new(resource_id: str | None) -> bool:
    return bool(resource_id) and NEW in str(resource_id)


def _answer(operation: str, kwargs: Mapping[str, Any], account_id: str, region: str) -> dict[str, Any]:
    """What AWS answers a recorded write of CloudTrail, S3, AWS Config or IAM (only the fields the gateway reads;
    a role the dry run creates has no ARN yet)."""
    if operation in ("CreateTrail", "UpdateTrail"):
        return {"TrailARN": f"arn:aws:cloudtrail:{region}:{account_id or NEW}:trail/{kwargs['Name']}"}
    if operation == "CreateRole":
        return {"Role": {"Arn": NEW, "RoleName": kwargs["RoleName"]}}
    if operation == "PutConfigurationAggregator":
        return {"ConfigurationAggregator": {"ConfigurationAggregatorArn": (
            f"arn:aws:config:{region}:{account_id}:config-aggregator/{NEW}{kwargs['ConfigurationAggregatorName']}")}}
    return {}


class RecordingClient:
    """A boto3 client whose reads (List/Describe/Get) go to AWS, counted, and whose writes are recorded (operation
    and arguments) and answered as AWS would, never sent. ``client`` None: an account this dry run creates, where
    nothing exists yet (a read answers empty, with no call)."""

    def __init__(self, client: Any, record: Record, count: Callable[[str], None], account_id: str,
                 region: str) -> None:
        self._client, self._record, self._count = client, record, count
        self._account_id, self._region = account_id, region

    def __getattr__(self, method: str) -> Callable[..., Any]:
        operation = "".join(part.title() for part in method.split("_"))
        if operation.startswith(SERVICE_READS):
            if self._client is None:
                return lambda **_: {}
            real = getattr(self._client, method)

            def read(**kwargs: Any) -> Any:
                self._count(operation)
                return real(**kwargs)

            return read

        def write(**kwargs: Any) -> dict[str, Any]:
            self._record(operation, dict(kwargs))
            return _answer(operation, kwargs, self._account_id, self._region)

        return write


def _counter(calls: dict[str, int]) -> Callable[[str], None]:
    def count(operation: str) -> None:
        calls[operation] = calls.get(operation, 0) + 1

    return count


class RecordingMembers(MemberAccounts):
    """``MemberAccounts`` whose reads go to AWS (counted in ``calls``) and whose writes are recorded in
    ``recorded`` (the gateway's list, once a :class:`RecordingGateway` holds it) with their effect on what is
    known of the account, never sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorded: list[tuple[str, dict[str, Any]]] = []
        self.calls: dict[str, int] = {}
        self.accounts_read: set[str] = set()  # the accounts whose role was read (the look reached them)
        self._looked: set[str] = set()  # looked at once per dry run, reached or not
        self.unread = UnreadLog()  # the gateway's, once a RecordingGateway holds it

    @property
    def accounts_unread(self) -> frozenset[str]:
        """The accounts looked at whose role could not be read (AssumeRole refused, IAM denied)."""
        return frozenset(self._looked - self.accounts_read)

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        """A call through a :class:`RecordingClient`, which counts what reaches AWS (a recorded write does not)."""
        return MemberAccounts._aws(self, operation, fn)

    def record(self, operation: str, kwargs: dict[str, Any]) -> None:
        self.recorded.append((operation, kwargs))

    def client(self, account_id: str, service: str, region: str) -> Any:
        """A recording client of ``service`` in the account (an account this dry run creates: no AssumeRole)."""
        real = None if is_new(account_id) else super().client(account_id, service, region)
        return RecordingClient(real, self.record, _counter(self.calls), account_id, region)

    def _aws(self, operation: str, fn: Any) -> Any:
        """AssumeRole and the access role's reads (GetRole, ...) reach AWS and are counted; a write reaches a
        :class:`RecordingClient` (``_iam``), which records it."""
        if operation == "AssumeRole" or operation.startswith(SERVICE_READS):
            self.calls[operation] = self.calls.get(operation, 0) + 1
        return super()._aws(operation, fn)

    def _iam(self, account_id: str) -> Any:
        """A recording IAM client in the account: the access role's writes (the operator's own methods) are
        recorded and answered as IAM would; an account this dry run creates is not assumed (nothing there yet)."""
        real = None if is_new(account_id) else super()._iam(account_id)
        return RecordingClient(real, self.record, lambda _: None, account_id, "")

    def read_role(self, account_id: str, role_name: str) -> MemberAccess:
        known = self.known(account_id)
        if known is not None and (is_new(account_id) or account_id in self._looked):
            return known  # read once per dry run; the recorded writes are applied to it
        if is_new(account_id):  # created by this dry run: only CreateAccount's own role is there
            found = MemberAccess(account_id, None)
            self.remember(found)
            return found
        self._looked.add(account_id)
        found = super().read_role(account_id, role_name)
        if found.reached:
            self.accounts_read.add(account_id)
        else:
            self.unread.add(account_id, f"the access role {role_name!r} (IAM)", str(found.error))
        return found


class RecordingCentralLogging(CentralLoggingGateway):
    """``CentralLoggingGateway`` over recording clients; the trail, bucket, aggregator and each account's Config are
    read once per dry run, then known from the recorded writes."""

    def __init__(self, members: RecordingMembers, trails: Callable[[str], Any], **kwargs: Any) -> None:
        self.calls: dict[str, int] = {}  # CloudTrail reads (the operator's credentials, management account)
        super().__init__(members, lambda region: RecordingClient(trails(region), members.record,
                                                                 _counter(self.calls), "", region), **kwargs)
        self._read: set[tuple[str, ...]] = set()
        self._failed: set[tuple[str, ...]] = set()
        self.unread = members.unread

    @property
    def config_accounts_read(self) -> frozenset[str]:
        """The member accounts whose AWS Config was read (not those the dry run creates, nor those it could not)."""
        return frozenset(k[1] for k in self._read - self._failed if k[0] == "config" and not is_new(k[1]))

    def _once(self, key: tuple[str, ...], read: Callable[[], T], known: Callable[[], T]) -> T:
        if key in self._read:
            return known()
        what = {"trail": "the trail {2!r} (CloudTrail, {1})", "aggregator": "the aggregator {3!r} (AWS Config, {2})",
                "config": "AWS Config's recorders", "bucket": "the log bucket {3!r} (S3, {2})"}[key[0]].format(*key)
        account = "" if key[0] == "trail" else key[1]
        try:
            found = read()
        except AwsError as exc:
            if denied(exc):
                self._read.add(key)
                self._failed.add(key)
                self.unread.add(account or "the management account", what, str(exc))
            raise
        self._read.add(key)
        error = getattr(found, "error", None)
        if error is not None and not is_new(account):
            self._failed.add(key)
            self.unread.add(account, what, str(error))
        return found

    # ------------------------------------------------------------------------------ reads, once per dry run
    def read_trail(self, region: str, name: str) -> ObservedTrail | None:
        return self._once(("trail", region, name), lambda: super(RecordingCentralLogging, self).read_trail(
            region, name), lambda: self.known_trail(region, name))

    def read_aggregator(self, account_id: str, region: str, name: str) -> str | None:
        return self._once(("aggregator", account_id, region, name), lambda: super(
            RecordingCentralLogging, self).read_aggregator(account_id, region, name),
            lambda: self.known_aggregator(account_id, region, name))

    def read_config(self, account_id: str, regions: Iterable[str]) -> MemberConfig:
        def read() -> MemberConfig:
            return super(RecordingCentralLogging, self).read_config(account_id, regions)

        return self._once(("config", account_id), read, lambda: self.known_config(account_id) or read())

    def read_bucket(self, account_id: str, region: str, name: str) -> ObservedBucket:
        def read() -> ObservedBucket:
            return super(RecordingCentralLogging, self).read_bucket(account_id, region, name)

        return self._once(("bucket", account_id, region, name), read,
                          lambda: self.known_bucket(account_id, region, name) or ObservedBucket(name))


class RecordingGateway(OrganizationsGateway):
    """``OrganizationsGateway`` whose writes are recorded and simulated, never sent."""

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.recorded: list[tuple[str, dict[str, Any]]] = []
        self.unread = UnreadLog()  # the reads this dry run could not make (members' and central logging's too)
        if isinstance(self.members, RecordingMembers):
            self.members.recorded = self.recorded  # one record of every write, in order
            self.members.unread = self.unread
        if isinstance(self.central_logging, RecordingCentralLogging):
            self.central_logging.unread = self.unread
        self._ids = itertools.count(1)
        self._tags: dict[str, dict[str, str]] = {}
        self._requests: dict[str, tuple[CreateAccountRequest, ObservedAccount]] = {}
        self._invitations: list[dict[str, Any]] = []  # the INVITE handshakes this dry run "sent", open
        self._described: set[str] = set()
        self._enabled_here: set[str] = set()
        self.initial: OrgSnapshot | None = None

    # ---------------------------------------------------------------------------- plumbing
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{NEW}{next(self._ids)}"

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """The one transport of the gateway's methods: reads go to AWS (and see the recorded writes), writes are
        recorded and answered as AWS would answer them."""
        if operation.startswith(READ_PREFIXES):
            try:
                page = super()._call(operation, **kwargs)
            except AwsError as exc:
                if denied(exc):
                    known = self.initial.management_account_id if self.initial is not None else "the management account"
                    subject = next((str(v) for k, v in sorted(kwargs.items()) if k.endswith("Id")), "")
                    self.unread.add(known, f"{operation}{f' of {subject}' if subject else ''} (AWS Organizations)",
                                    str(exc))
                raise
            return self._seen(operation, kwargs, page)
        self.recorded.append((operation, dict(kwargs)))
        return self._answer(operation, kwargs)

    def _seen(self, operation: str, kwargs: Mapping[str, Any], page: dict[str, Any]) -> dict[str, Any]:
        """What AWS would answer a read after the recorded writes (on a list's last page, what they added)."""
        if page.get("NextToken"):
            return page
        if operation == "ListAWSServiceAccessForOrganization":
            listed = {s["ServicePrincipal"] for s in page.get("EnabledServicePrincipals", [])}
            added = [{"ServicePrincipal": a["ServicePrincipal"]} for op, a in self.recorded
                     if op == "EnableAWSServiceAccess" and a["ServicePrincipal"] not in listed]
            return {**page, "EnabledServicePrincipals": [*page.get("EnabledServicePrincipals", []), *added]}
        if operation == "ListDelegatedAdministrators":
            found = {a["Id"] for a in page.get("DelegatedAdministrators", [])}
            for op, args in self.recorded:
                if args.get("ServicePrincipal") == kwargs.get("ServicePrincipal"):
                    if op == "RegisterDelegatedAdministrator":
                        found.add(args["AccountId"])
                    elif op == "DeregisterDelegatedAdministrator":
                        found.discard(args["AccountId"])
            return {**page, "DelegatedAdministrators": [{"Id": a} for a in sorted(found)]}
        if operation == "ListHandshakesForOrganization" and kwargs.get("Filter", {}).get(
                "ActionType") == "ENABLE_ALL_FEATURES" and any(op == "EnableAllFeatures" for op, _ in self.recorded):
            # a recorded EnableAllFeatures stands as an open handshake (the dry run waits on it, as AWS would)
            opened = {"Id": f"h-{NEW}", "Action": "ENABLE_ALL_FEATURES", "State": "OPEN"}
            return {**page, "Handshakes": [*page.get("Handshakes", []), opened]}
        if operation == "ListHandshakesForOrganization" and kwargs.get("Filter", {}).get("ActionType") == "INVITE":
            return {**page, "Handshakes": [*page.get("Handshakes", []), *self._invitations]}  # open, as sent
        if operation == "ListCreateAccountStatus" and "IN_PROGRESS" in kwargs.get("States", ["IN_PROGRESS"]):
            pending = [{"Id": r.id, "State": r.state, "AccountName": r.account_name,
                        "RequestedTimestamp": r.requested_at} for r, _ in self._requests.values()
                       if r.id not in self._described]
            return {**page, "CreateAccountStatuses": [*page.get("CreateAccountStatuses", []), *pending]}
        return page

    def _call_account(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        self.recorded.append((operation, dict(kwargs)))
        return {}

    def _call_iam(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """IAM in the management account: ListOrganizationsFeatures reaches AWS and sees the recorded root access
        writes (EnableOrganizationsRootSessions, ...: each answers the features then enabled); writes are recorded."""
        if not operation.startswith(READ_PREFIXES):
            self.recorded.append((operation, dict(kwargs)))
            return {}
        try:
            page = super()._call_iam(operation, **kwargs)
        except AwsError as exc:  # trusted access for IAM is only recorded: AWS has no features to list yet
            if exc.code != "ServiceAccessNotEnabledException" or not any(
                    op == "EnableAWSServiceAccess" and a.get("ServicePrincipal") == "iam.amazonaws.com"
                    for op, a in self.recorded):
                raise
            page = {}
        features = set(page.get("EnabledFeatures") or ())
        for op, _ in self.recorded:
            feature = "RootSessions" if op.endswith("RootSessions") else "RootCredentialsManagement"
            if op.startswith("EnableOrganizationsRoot"):
                features.add(feature)
            elif op.startswith("DisableOrganizationsRoot"):
                features.discard(feature)
        return {**page, "EnabledFeatures": sorted(features)}

    def _answer(self, operation: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """What AWS answers a write (only the fields the gateway reads)."""
        snap = self.snapshot()
        if operation == "CreateOrganizationalUnit":
            ou_id = self._new_id("ou-")
            self._tags[ou_id] = {t["Key"]: t["Value"] for t in kwargs.get("Tags", [])}
            self.update_snapshot(functools.partial(_defaults_on, target_id=ou_id))
            return {"OrganizationalUnit": {"Id": ou_id, "Arn": NEW, "Name": kwargs["Name"]}}
        if operation == "UpdateOrganizationalUnit":
            ou = snap.ous[kwargs["OrganizationalUnitId"]]
            return {"OrganizationalUnit": {"Id": ou.id, "Arn": ou.arn, "Name": kwargs.get("Name", ou.name)}}
        if operation in ("CreatePolicy", "UpdatePolicy"):
            old = snap.policies.get(kwargs.get("PolicyId", ""))
            policy_id = old.id if old else self._new_id("p-")
            if old is None:
                self._tags[policy_id] = {t["Key"]: t["Value"] for t in kwargs.get("Tags", [])}
            summary = {"Id": policy_id, "Arn": old.arn if old else NEW,
                       "Name": kwargs.get("Name", old.name if old else ""),
                       "Description": kwargs.get("Description", old.description if old else ""),
                       "Type": kwargs.get("Type", old.type if old else ""), "AwsManaged": False}
            return {"Policy": {"PolicySummary": summary, "Content": kwargs.get("Content", old.content if old else "")}}
        if operation == "EnablePolicyType":
            self._enable(kwargs["PolicyType"])
        if operation == "DisablePolicyType":  # AWS detaches (here: forgets) every policy of the type
            ptype = kwargs["PolicyType"]
            self.update_snapshot(lambda s: dataclasses.replace(
                s, enabled_policy_types=s.enabled_policy_types - {ptype},
                policies={k: p for k, p in s.policies.items() if p.type != ptype}))
        if operation == "EnableAllFeatures":
            return {"Handshake": {"Id": self._new_id("h-")}}
        if operation == "CreateAccount":  # finishes later, the account placed directly under the root
            request = CreateAccountRequest(self._new_id("car-"), "IN_PROGRESS", kwargs["AccountName"],
                                           requested_at=datetime.datetime.now(datetime.UTC))
            account_id = self._new_id("")
            self._tags[account_id] = {t["Key"]: t["Value"] for t in kwargs.get("Tags", [])}
            self._requests[request.id] = (request, ObservedAccount(account_id, NEW, kwargs["AccountName"],
                                                                   kwargs["Email"], "ACTIVE", snap.root_id))
            return {"CreateAccountStatus": {"Id": request.id, "State": request.state, "AccountName":
                                            request.account_name, "RequestedTimestamp": request.requested_at}}
        if operation == "AcceptHandshake":
            self.update_snapshot(lambda s: dataclasses.replace(s, feature_set="ALL"))
        if operation == "InviteAccountToOrganization":  # an open invitation; the account joins when its owner says
            now = datetime.datetime.now(datetime.UTC)
            invitation = {"Id": self._new_id("h-"), "State": "OPEN", "Action": "INVITE",
                          "Parties": [{"Id": kwargs["Target"]["Id"], "Type": "ACCOUNT"}], "RequestedTimestamp": now,
                          "ExpirationTimestamp": now + datetime.timedelta(days=limits.INVITATION_DAYS)}
            self._invitations.append(invitation)
            return {"Handshake": invitation}
        return {}

    # ---------------------------------------------------------------------------- the one read
    def snapshot(self, max_age: float | None = None) -> OrgSnapshot:
        """The organization as read once, with every recorded write applied (never read again)."""
        snap = super().snapshot(max_age=None)
        if self.initial is None:
            self.initial = snap
        return snap

    def invalidate(self) -> None:
        """Nothing to forget: the working snapshot is what the writes so far would leave."""

    def _enable(self, policy_type: str) -> None:
        """AWS attaches the type's default policy to the root, every OU and every account."""
        self._enabled_here.add(policy_type)
        policy_id, name = DEFAULT_POLICIES.get(policy_type, (self._new_id("p-"), f"default {policy_type}"))

        def apply(s: OrgSnapshot) -> OrgSnapshot:
            everything = frozenset({s.root_id, *s.ous, *s.accounts})
            s = s.with_policy_types({*s.enabled_policy_types, policy_type})
            return s.with_policy(ObservedPolicy(policy_id, NEW, name, "", policy_type, True, None, everything))

        self.update_snapshot(apply)

    def refresh_target_policies(self, target_id: str, policy_type: str) -> None:
        """What is on a target now: AWS's answer, unless the dry run created the target or enabled the type."""
        if is_new(target_id) or policy_type in self._enabled_here:
            return
        super().refresh_target_policies(target_id, policy_type)
        for operation, args in self.recorded:  # the recorded attachments and detachments stand
            if operation in ("AttachPolicy", "DetachPolicy") and args["TargetId"] == target_id:
                self.update_snapshot(functools.partial(_target, policy_id=args["PolicyId"], target_id=target_id,
                                               attached=operation == "AttachPolicy"))

    # ---------------------------------------------------------------------------- tags
    def list_tags(self, resource_id: str) -> dict[str, str]:
        if resource_id not in self._tags:
            self._tags[resource_id] = {} if is_new(resource_id) else super().list_tags(resource_id)
        return dict(self._tags[resource_id])

    def tag_resource(self, resource_id: str, tags: Mapping[str, str]) -> None:
        current = self.list_tags(resource_id)
        super().tag_resource(resource_id, tags)
        self._tags[resource_id] = {**current, **tags}

    def untag_resource(self, resource_id: str, keys: tuple[str, ...]) -> None:
        current = self.list_tags(resource_id)
        super().untag_resource(resource_id, keys)
        self._tags[resource_id] = {k: v for k, v in current.items() if k not in keys}

    # ---------------------------------------------------------------------------- account creation
    def describe_create_account_status(self, request_id: str) -> CreateAccountRequest:
        """A recorded request is SUCCEEDED at the next look (until then, it is in progress in the lists)."""
        if request_id not in self._requests:
            return super().describe_create_account_status(request_id)
        request, account = self._requests[request_id]
        self._described.add(request_id)
        return dataclasses.replace(request, state="SUCCEEDED", account_id=account.id)

    def describe_account(self, account_id: str) -> ObservedAccount:
        created = {account.id: account for _, account in self._requests.values()}
        if account_id not in created:
            return super().describe_account(account_id)
        account = created[account_id]
        self.update_snapshot(lambda s: _defaults_on(s.with_account(account), account.id))
        return account


def _defaults_on(s: OrgSnapshot, target_id: str) -> OrgSnapshot:
    """A new OU or account: AWS attaches each enabled type's AWS managed default policy to it."""
    for policy in list(s.policies.values()):
        if policy.aws_managed and policy.type in s.enabled_policy_types \
                and policy.name == AWS_MANAGED_DEFAULT.get(policy.type):
            s = _target(s, policy.id, target_id, attached=True)
    return s


def _target(s: OrgSnapshot, policy_id: str, target_id: str, attached: bool) -> OrgSnapshot:
    policy = s.policies.get(policy_id)
    if policy is None:
        return s
    targets = set(policy.target_ids)
    (targets.add if attached else targets.discard)(target_id)
    return s.with_policy(dataclasses.replace(policy, target_ids=frozenset(targets)))
