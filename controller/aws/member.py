"""Member accounts: work inside them through the role the organization already has there, assumed with STS.

Every member account AWS Organizations creates has a role the management account may assume
(``OrganizationAccountAccessRole`` unless CreateAccount named another, "Accessing member accounts", AWS
Organizations user guide); the operator reaches an account by ``sts:AssumeRole`` on
``arn:aws:iam::<account>:role/<that role>`` from its own credentials, then calls IAM there with the
temporary credentials. Credentials are kept per account until five minutes before they expire, so a resync
costs one AssumeRole per account and hour at most; AssumeRole calls (the management account's, shared by every
account) are paced at ``AWSORG_STS_RATE`` a second.

What is kept per account is small and bounded by design: its credentials, and what it was last seen to hold. Clients
are not kept per account: ``controller.aws.session`` binds one shared client per service and region to an account's
credentials, and the bindings in use sit in a small cache (:data:`CLIENTS_KEPT`) whatever the organization's size.
Work in many accounts at once goes through :class:`controller.aws.fanout.MemberWork` (``read_roles``, ``each``).

A new account's role is not assumable at once: AWS answers AssumeRole with AccessDenied for a while after
CreateAccount finishes. That is a wait (``MemberAccess.waiting``), not a failure.

Only IAM's role operations are called in member accounts, with the member role's credentials; the operator's
own policy (deploy/iam-policy.json) needs only ``sts:AssumeRole`` on that role.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from controller.aws.errors import AwsError, map_error
from controller.aws.fanout import MemberWork
from controller.aws.retry import RetryPolicy, call_with_retries
from controller.aws.writes import write
from controller.planner.access_role import PRINCIPALS_ALLOWED
from controller.planner.actions import (
    AttachRolePolicy,
    Blocked,
    CreateAccessRole,
    DetachRolePolicy,
    UpdateAccessRoleMaxSession,
    UpdateAccessRoleTrust,
)
from controller.state import ROOT_CREDENTIAL_KEYS, MemberAccess, MemberRootCredentials, ObservedRole

T = TypeVar("T")

DEFAULT_MEMBER_ROLE = "OrganizationAccountAccessRole"
SESSION_NAME = "awsorg-operator"
REFRESH_BEFORE_SECONDS = 300.0  # credentials are renewed this long before they expire
#: Client bindings kept (account, service, region): enough for the accounts being worked on at once (up to 64
#: threads, a few services each); an account's next look binds again (no call: the credentials are cached).
CLIENTS_KEPT = 256
#: AssumeRole calls a second, at most (``AWSORG_STS_RATE``). STS throttles each calling account with a token bucket
#: whose size AWS does not publish ("IAM and AWS STS independently implement a token bucket algorithm for
#: throttling", AWS Security Blog, "How to monitor and query IAM resources at scale - Part 2", read 2026-12-07), and
#: every AssumeRole is the management account's: paced here, they stay well below it and leave it to the
#: operator's other users.
DEFAULT_STS_RATE = 20.0
ROLE_DESCRIPTION = "The role engineers assume in this account; managed by awsorg-operator (Organization accessRole)"
Credentials = Mapping[str, str]


def mapped_call(operation: str, fn: Callable[[], T], retry: RetryPolicy) -> T:
    """One AWS call made with a boto3 client: errors mapped to ``AwsError``, transient ones retried."""
    def once() -> T:
        try:
            return fn()
        except Exception as exc:
            raise map_error(operation, exc) from exc

    return call_with_retries(once, retry)


class Pace:
    """At most ``rate`` calls a second across every thread (a burst of one second's worth after a quiet moment)."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = rate or 0.0
        self._updated = clock()

    def wait(self) -> None:
        if not self.rate:
            return
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.rate, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1.0 - 1e-9:  # (a float's rounding must not leave it waiting forever)
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                pause = (1.0 - self._tokens) / self.rate
            self._sleep(pause)


class AccountNotAccessible(AwsError):
    """AssumeRole into a member account was refused: its role is missing, does not trust the operator, or the
    account is new and AWS has not made its role assumable yet."""


class MemberAccounts:
    """The only way the operator works inside member accounts (IAM, through an assumed role)."""

    def __init__(self, sts: Any, iam_client: Callable[[Credentials], Any], role_name: str = DEFAULT_MEMBER_ROLE,
                 retry: RetryPolicy | None = None, clock: Callable[[], float] = time.time,
                 partition: str = "aws", clients: Callable[[str, Credentials, str], Any] | None = None,
                 work: MemberWork | None = None, sts_rate: float | None = DEFAULT_STS_RATE) -> None:
        self._sts = sts
        self._iam_client = iam_client
        self._service_client = clients  # (service, credentials, region) -> a client of another service there
        self.role_name = role_name
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._partition = partition
        self._lock = threading.Lock()
        self.work = work or MemberWork(1)  # how many accounts are worked on at once (the operator: its setting)
        self._pace = Pace(sts_rate)
        # (account, service, region) -> (client, its credentials expire at), the most recently used last; IAM's
        # region is "". At most CLIENTS_KEPT, whatever the number of accounts.
        self._clients: OrderedDict[tuple[str, str, str], tuple[Any, float]] = OrderedDict()
        self._creds: dict[str, tuple[Credentials, float]] = {}  # account -> (credentials, expire at)
        self._known: dict[str, MemberAccess] = {}  # what each account holds, as last read or written
        self._root: dict[str, MemberRootCredentials] = {}  # each account's root user, as last read

    # ------------------------------------------------------------------------------ plumbing
    def role_arn(self, account_id: str) -> str:
        return f"arn:{self._partition}:iam::{account_id}:role/{self.role_name}"

    def _aws(self, operation: str, fn: Callable[[], T]) -> T:
        return mapped_call(operation, fn, self._retry)

    def _iam(self, account_id: str) -> Any:
        """An IAM client in the member account (credentials assumed again when near expiry)."""
        return self._cached((account_id, "iam", ""), self._iam_client)

    def client(self, account_id: str, service: str, region: str) -> Any:
        """A client of ``service`` (s3, config) in the member account and region, with the member role's
        credentials (one AssumeRole per account and hour, shared with IAM)."""
        if self._service_client is None:
            raise AwsError("AssumeRole", "NotConfigured", f"no {service} client for member accounts is configured")
        make = self._service_client
        return self._cached((account_id, service, region), lambda creds: make(service, creds, region))

    def _cached(self, key: tuple[str, str, str], make: Callable[[Credentials], Any]) -> Any:
        """The client for ``key`` made with the account's assumed credentials, made again when they near expiry."""
        now = self._clock()
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None:
                self._clients.move_to_end(key)
        if cached is not None and cached[1] - REFRESH_BEFORE_SECONDS > now:
            return cached[0]
        creds, expires_at = self._credentials(key[0])
        client = make(creds)
        with self._lock:
            self._clients[key] = (client, expires_at)
            while len(self._clients) > CLIENTS_KEPT:
                self._clients.popitem(last=False)
        return client

    def _credentials(self, account_id: str) -> tuple[Credentials, float]:
        now = self._clock()
        with self._lock:
            cached = self._creds.get(account_id)
        if cached is not None and cached[1] - REFRESH_BEFORE_SECONDS > now:
            return cached
        arn = self.role_arn(account_id)
        self._pace.wait()
        try:
            creds = self._aws("AssumeRole", lambda: self._sts.assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME))
        except AwsError as exc:
            # An RCP on the account denying sts:AssumeRole is no wait: the policy must change (BlockedByPolicy).
            if exc.code in ("AccessDenied", "AccessDeniedException") and " control policy" not in exc.aws_message:
                raise AccountNotAccessible(exc.operation, exc.code, exc.aws_message, exc.reason) from exc
            raise
        raw = creds["Credentials"]
        expires = raw["Expiration"]
        expires_at = expires.timestamp() if isinstance(expires, datetime.datetime) else now + 3600.0
        found: Credentials = {"aws_access_key_id": raw["AccessKeyId"], "aws_secret_access_key": raw["SecretAccessKey"],
                              "aws_session_token": raw["SessionToken"]}
        with self._lock:
            self._creds[account_id] = (found, expires_at)
        return found, expires_at

    def reachable(self, account_id: str) -> str | None:
        """None when the member role can be assumed in the account (credentials cached for the hour); otherwise
        AssumeRole's refusal (the role is missing or does not trust the operator)."""
        try:
            self._credentials(account_id)
        except AccountNotAccessible as exc:
            return f"AssumeRole on {self.role_arn(account_id)} was refused ({exc.code}: {exc.aws_message})"
        return None

    def call(self, operation: str, fn: Callable[[], T]) -> T:
        """One call in a member account: errors mapped, transient ones retried."""
        return self._aws(operation, fn)

    def each(self, accounts: Iterable[str], work: Callable[[str], T]) -> dict[str, T]:
        """``work(account)`` for every account, as many at once as the operator's setting allows (``MemberWork``)."""
        return self.work.map(accounts, work)

    def forget(self, account_id: str) -> None:
        """Drop the cached credentials and what is known of the account (it left the organization)."""
        with self._lock:
            self._creds.pop(account_id, None)
            for key in [k for k in self._clients if k[0] == account_id]:
                self._clients.pop(key)
            self._known.pop(account_id, None)
            self._root.pop(account_id, None)

    # ------------------------------------------------------------------------------ reads
    def read_role(self, account_id: str, role_name: str) -> MemberAccess:
        """The role in the account (GetRole, ListAttachedRolePolicies), or why it could not be read. Never
        raises an AWS error: one account's trouble is that account's (``MemberAccess.error``)."""
        role, error, waiting = self.look(account_id, lambda: self._read(self._iam(account_id), account_id, role_name))
        found = MemberAccess(account_id, role, error, waiting)
        with self._lock:
            self._known[account_id] = found
        return found

    def read_roles(self, account_ids: Iterable[str], role_name: str) -> dict[str, MemberAccess]:
        """``read_role`` in many accounts at once (``MemberWork``): every account's answer, one account's trouble
        its own."""
        return self.each(account_ids, lambda account_id: self.read_role(account_id, role_name))

    def look(self, account_id: str, read: Callable[[], T]) -> tuple[T | None, str | None, bool]:
        """Run reads in a member account: (what they returned, or None and why not, and whether that is a wait
        because the account's role is not assumable yet). Never raises an AWS error."""
        try:
            return read(), None, False
        except AccountNotAccessible as exc:
            return None, (f"AssumeRole on {self.role_arn(account_id)} was refused ({exc.code}: "
                          f"{exc.aws_message})"), True
        except AwsError as exc:
            return None, f"{exc.operation}: {exc.code}: {exc.aws_message}", False

    def _read(self, iam: Any, account_id: str, role_name: str) -> ObservedRole | None:
        try:
            raw = self._aws("GetRole", lambda: iam.get_role(RoleName=role_name))["Role"]
        except AwsError as exc:
            if exc.code == "NoSuchEntity":
                return None
            raise
        attached: set[str] = set()
        marker: str | None = None
        while True:
            args: dict[str, Any] = {"RoleName": role_name, **({"Marker": marker} if marker else {})}
            page = self._aws("ListAttachedRolePolicies", functools.partial(iam.list_attached_role_policies, **args))
            attached.update(p["PolicyArn"] for p in page.get("AttachedPolicies", []))
            marker = page.get("Marker") if page.get("IsTruncated") else None
            if not marker:
                break
        return ObservedRole(account_id, raw["RoleName"], raw["Arn"], raw.get("AssumeRolePolicyDocument") or "",
                            frozenset(attached), int(raw.get("MaxSessionDuration") or 3600))

    def read_root_credentials(self, account_ids: Iterable[str]) -> dict[str, MemberRootCredentials]:
        """Each account's root user credentials as IAM reports them there (GetAccountSummary: one call per account,
        with the member role's credentials), many accounts at once; one account's trouble its own."""
        def read(account_id: str) -> MemberRootCredentials:
            iam = self._iam_for_read(account_id)
            # (an account a dry run creates answers {}: nothing there yet, as for an account Organizations creates)
            summary, error, waiting = self.look(account_id, lambda: self._aws(
                "GetAccountSummary", lambda: iam().get_account_summary()).get("SummaryMap") or {})
            found = MemberRootCredentials(account_id, tuple(
                name for name, key in ROOT_CREDENTIAL_KEYS if (summary or {}).get(key)), error, waiting)
            with self._lock:
                self._root[account_id] = found
            return found

        return self.each(account_ids, read)

    def _iam_for_read(self, account_id: str) -> Callable[[], Any]:
        """The account's IAM client, made when called (inside ``look``: a refused AssumeRole is that account's)."""
        return lambda: self._iam(account_id)

    def known_root(self, account_id: str) -> MemberRootCredentials | None:
        with self._lock:
            return self._root.get(account_id)

    def known_root_all(self) -> Mapping[str, MemberRootCredentials]:
        """Every account's root user as last read: a read-only view (no copy, no call)."""
        return MappingProxyType(self._root)

    def known(self, account_id: str) -> MemberAccess | None:
        """What the account holds as last read, kept current after the operator's own writes (no call)."""
        with self._lock:
            return self._known.get(account_id)

    def known_all(self) -> Mapping[str, MemberAccess]:
        """What every account holds as last read or written: a read-only view (no copy, no call)."""
        return MappingProxyType(self._known)

    def remember(self, access: MemberAccess) -> None:
        """Hold this as what the account holds (the dry run: what a recorded write leaves)."""
        with self._lock:
            self._known[access.account_id] = access

    # ------------------------------------------------------------------------------ writes
    @write(CreateAccessRole, "AccessRoleCreated", lambda gw, a, _: gw.create_role(
        a.account_id, a.role_name, a.trust_policy, a.max_session_duration),
           explain=lambda a, exc: _trust_refused(a.account_id, a.role_name, exc))
    def create_role(self, account_id: str, role_name: str, trust_policy: str,
                    max_session_duration: int = 3600) -> None:
        """Create the role (already there: fine; the next look compares it)."""
        iam = self._iam(account_id)
        try:
            raw = self._aws("CreateRole", lambda: iam.create_role(
                RoleName=role_name, AssumeRolePolicyDocument=trust_policy, Description=ROLE_DESCRIPTION,
                MaxSessionDuration=max_session_duration))["Role"]
        except AwsError as exc:
            if exc.code != "EntityAlreadyExists":
                self._refused(account_id, exc)
                raise
            self.read_role(account_id, role_name)
            return
        self._set(account_id, ObservedRole(account_id, role_name, raw["Arn"], trust_policy,
                                           max_session_duration=max_session_duration))

    @write(UpdateAccessRoleTrust, "AccessRoleTrustPolicyUpdated",
           lambda gw, a, _: gw.update_trust_policy(a.account_id, a.role_name, a.trust_policy),
           explain=lambda a, exc: _trust_refused(a.account_id, a.role_name, exc))
    def update_trust_policy(self, account_id: str, role_name: str, trust_policy: str) -> None:
        iam = self._iam(account_id)
        try:
            self._aws("UpdateAssumeRolePolicy", lambda: iam.update_assume_role_policy(
                RoleName=role_name, PolicyDocument=trust_policy))
        except AwsError as exc:
            self._refused(account_id, exc)
            raise
        self._change(account_id, lambda r: dataclasses.replace(r, trust_policy=trust_policy))

    @write(UpdateAccessRoleMaxSession, "AccessRoleMaxSessionUpdated",
           lambda gw, a, _: gw.update_max_session(a.account_id, a.role_name, a.max_session_duration))
    def update_max_session(self, account_id: str, role_name: str, max_session_duration: int) -> None:
        """Set the role's maximum session duration (IAM UpdateRole; its description is not sent, so kept)."""
        iam = self._iam(account_id)
        try:
            self._aws("UpdateRole", lambda: iam.update_role(RoleName=role_name,
                                                             MaxSessionDuration=max_session_duration))
        except AwsError as exc:
            self._refused(account_id, exc)
            raise
        self._change(account_id, lambda r: dataclasses.replace(r, max_session_duration=max_session_duration))

    @write(AttachRolePolicy, "AccessRolePolicyAttached",
           lambda gw, a, _: gw.attach_policy(a.account_id, a.role_name, a.policy_arn))
    def attach_policy(self, account_id: str, role_name: str, policy_arn: str) -> None:
        iam = self._iam(account_id)
        self._aws("AttachRolePolicy", lambda: iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn))
        self._change(account_id, lambda r: dataclasses.replace(r, attached=r.attached | {policy_arn}))

    @write(DetachRolePolicy, "AccessRolePolicyDetached",
           lambda gw, a, _: gw.detach_policy(a.account_id, a.role_name, a.policy_arn))
    def detach_policy(self, account_id: str, role_name: str, policy_arn: str) -> None:
        """Detach (not attached: fine, that is what was asked)."""
        iam = self._iam(account_id)
        try:
            self._aws("DetachRolePolicy", lambda: iam.detach_role_policy(RoleName=role_name, PolicyArn=policy_arn))
        except AwsError as exc:
            if exc.code != "NoSuchEntity":
                raise
        self._change(account_id, lambda r: dataclasses.replace(r, attached=r.attached - {policy_arn}))

    def _refused(self, account_id: str, exc: AwsError) -> None:
        """A write was refused: the account's baseline failed for that reason (read again on the next look)."""
        with self._lock:
            known = self._known.get(account_id)
            self._known[account_id] = MemberAccess(account_id, known.role if known else None,
                                                   error=f"{exc.operation}: {exc.code}: {exc.aws_message}")

    def _set(self, account_id: str, role: ObservedRole) -> None:
        with self._lock:
            self._known[account_id] = MemberAccess(account_id, role)

    def _change(self, account_id: str, fn: Callable[[ObservedRole], ObservedRole]) -> None:
        with self._lock:
            known = self._known.get(account_id)
            if known is not None and known.role is not None:
                self._known[account_id] = MemberAccess(account_id, fn(known.role))



def _trust_refused(account_id: str, role_name: str, exc: AwsError) -> Blocked | None:
    """IAM resolves every role and user principal when it stores a trust policy: one that is malformed or names a
    role or user that does not exist (yet) is refused. The spec must change (or the principal be created): not
    retried at the backoff's rate; the next resync looks again."""
    if exc.code != "MalformedPolicyDocument":
        return None
    return Blocked("InvalidSpec", f"spec.accessRole.trustedPrincipals: IAM refused the trust policy of role "
                   f"{role_name!r} in account {account_id} ({exc.code}: {exc.aws_message}); allowed: "
                   f"{PRINCIPALS_ALLOWED}, a role or user only once it exists. Create the principal first or fix the "
                   "list; looked at again on the next resync", retry=False)
