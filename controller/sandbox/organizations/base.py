"""What every AWS Organizations rule of the sandbox shares: the error shape, the rule registry, moto lookups.

The strict layer (:mod:`controller.sandbox.strict`) answers an Organizations request with the *checks* and the
*rule* registered here for its operation, then lets moto handle it and runs its *post-hook*.  The rules live by
what they play: :mod:`~controller.sandbox.organizations.units`, :mod:`~controller.sandbox.organizations.accounts`,
:mod:`~controller.sandbox.organizations.policies` and :mod:`~controller.sandbox.organizations.settings` (the quotas
in :mod:`controller.sandbox.aws_limits`).  They read and change moto's in-process backend
(``moto.organizations.models.organizations_backends[account_id][partition]``) through the lookups below, under the
middleware's lock, and see the middleware's own state (asynchronous requests, handshakes) as :class:`Middleware`.

Every rule quotes the AWS API reference wording it follows (from botocore's
``botocore/data/organizations/2016-11-28/service-2.json``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.organizations.models import FakeAccount, FakeOrganizationalUnit, FakePolicy, FakeRoot

NAME_MAX = 128  # OrganizationalUnitName, PolicyName: "max": 128 (CreateAccount's AccountName is 50: aws_limits.py)

PARENT_ID_RE = re.compile(r"^(r-[0-9a-z]{4,32})$|^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
OU_ID_RE = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
TARGET_ID_RE = re.compile(r"^(r-[0-9a-z]{4,32})$|^(\d{12})$|^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")


class OrganizationsError(Exception):
    """An error answered the way AWS answers it: HTTP 400 and a JSON body with ``__type``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        reason: str | None = None,
        status: int = 400,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status
        self.fields = dict(fields or {})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"__type": self.code, "Message": self.message}
        if self.reason is not None:
            out["Reason"] = self.reason
        out.update(self.fields)
        return out

    def rest_json_body(self) -> dict[str, Any]:
        """The body of a REST-JSON error (Account Management API): ``{"message": ...}`` plus the
        error shape's other members (``reason``, ``fieldList`` for ValidationException); the code
        travels in the ``x-amzn-ErrorType`` header."""
        out: dict[str, Any] = {"message": self.message}
        if self.reason is not None:
            out["reason"] = self.reason
        out.update(self.fields)
        return out


def _invalid(reason: str, message: str) -> OrganizationsError:
    return OrganizationsError("InvalidInputException", message, reason=reason)


def _constraint(reason: str, message: str) -> OrganizationsError:
    return OrganizationsError("ConstraintViolationException", message, reason=reason)


def _check_max_length(value: Any, limit: int) -> None:
    """InvalidInputException MAX_LENGTH_EXCEEDED: "You provided a string parameter that is longer
    than allowed."  (botocore only validates ``min`` client-side, so ``max`` reaches the server.)"""
    if isinstance(value, str) and len(value) > limit:
        raise _invalid("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed.")

# --------------------------------------------------------------------------------------------------
# The state of asynchronous requests the middleware keeps (moto has none)


@dataclass
class CreateAccountRequest:
    """One CreateAccount request, answered by the middleware (moto creates accounts synchronously)."""

    id: str
    backend_key: tuple[str, str]
    params: dict[str, Any]
    requested: float
    ready_at: float
    state: str = "IN_PROGRESS"
    completed: float | None = None
    account_id: str | None = None
    failure_reason: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": self.id,
            "AccountName": self.params.get("AccountName"),
            "State": self.state,
            "RequestedTimestamp": self.requested,
        }
        if self.completed is not None:
            out["CompletedTimestamp"] = self.completed
        if self.account_id is not None:
            out["AccountId"] = self.account_id
        if self.failure_reason is not None:
            out["FailureReason"] = self.failure_reason
        return out


@dataclass
class Handshake:
    """One handshake: of the all-features migration (``pending``: invited accounts yet to approve), or an INVITE to
    ``target`` (an account id: organizations/invitations.py)."""

    id: str
    action: str  # ENABLE_ALL_FEATURES | APPROVE_ALL_FEATURES | INVITE
    backend_key: tuple[str, str]
    requested: float
    state: str = "OPEN"
    pending: set[str] = field(default_factory=set)
    parent: str | None = None
    target: str = ""
    organization_id: str = ""
    notes: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    expires: float | None = None
    ended: float | None = None

    def describe(self) -> dict[str, Any]:
        if self.action == "INVITE":
            return self._describe_invite()
        out: dict[str, Any] = {
            "Id": self.id,
            "Arn": f"arn:aws:organizations::{self.backend_key[0]}:handshake/{self.action.lower()}/{self.id}",
            "Parties": [{"Id": self.backend_key[0], "Type": "ACCOUNT"}],
            "State": self.state,
            "RequestedTimestamp": self.requested,
            "ExpirationTimestamp": self.requested + 90 * 86400,
            "Action": self.action,
            "Resources": [{"Value": "ALL", "Type": "ORGANIZATION_FEATURE_SET"}],
        }
        if self.parent:
            out["Resources"].append({"Value": self.parent, "Type": "PARENT_HANDSHAKE"})
        return out

    def _describe_invite(self) -> dict[str, Any]:
        resources: list[dict[str, Any]] = [{"Value": self.organization_id, "Type": "ORGANIZATION"},
                                           {"Value": self.target, "Type": "ACCOUNT"}]
        if self.notes:
            resources.append({"Value": self.notes, "Type": "NOTES"})
        return {
            "Id": self.id,
            "Arn": f"arn:aws:organizations::{self.backend_key[0]}:handshake/{self.organization_id}/invite/{self.id}",
            "Parties": [{"Id": self.organization_id, "Type": "ORGANIZATION"}, {"Id": self.target, "Type": "ACCOUNT"}],
            "State": self.state,
            "RequestedTimestamp": self.requested,
            "ExpirationTimestamp": self.expires if self.expires is not None else self.requested,
            "Action": "INVITE",
            "Resources": resources,
        }


@dataclass
class Ctx:
    """What a rule needs: the operation, its JSON parameters and the caller's moto backend."""

    operation: str
    params: dict[str, Any]
    backend: Any
    backend_key: tuple[str, str]




class Middleware(Protocol):
    """What the rules see of the middleware (:class:`controller.sandbox.strict.StrictOrganizations`)."""

    create_account_delay: float
    close_account_delay: float
    create_requests: dict[str, CreateAccountRequest]
    #: (backend key, account id) -> time at which the PENDING_CLOSURE account becomes SUSPENDED
    pending_closures: dict[tuple[tuple[str, str], str], float]
    #: (account id, partition) -> name given with PutAccountName by an account in no organization
    standalone_account_names: dict[tuple[str, str], str]
    handshakes: dict[str, Handshake]
    #: account id -> {"email", "name"}: AWS accounts outside any organization (organizations/invitations.py)
    standalone_accounts: dict[str, dict[str, str]]

    def _all_features_approved(self, hs: Handshake) -> None: ...


#: A rule's first argument is the middleware: :class:`Middleware` for the rules here, the whole
#: ``StrictOrganizations`` for :mod:`controller.sandbox.aws_limits`' checks (hence ``Any``).
Rule = Callable[[Any, Ctx], "dict[str, Any] | None"]
PostHook = Callable[[Any, Ctx], None]
CreateAccountOutcome = Callable[[Any, Any, CreateAccountRequest], "str | None"]

RULES: dict[str, Rule] = {}
POST_HOOKS: dict[str, PostHook] = {}
CHECKS: dict[str, list[Rule]] = {}
#: Each may end a CreateAccount request FAILED: returns the FailureReason, or None.
CREATE_ACCOUNT_OUTCOMES: list[CreateAccountOutcome] = []


def rule(operation: str) -> Callable[[Rule], Rule]:
    """Register a rule: raise OrganizationsError to refuse, return a dict to answer, None to pass to moto."""

    def register(fn: Rule) -> Rule:
        RULES[operation] = fn
        return fn

    return register


def check(operation: str) -> Callable[[Rule], Rule]:
    """Register a check (several per operation, in :mod:`controller.sandbox.aws_limits` and the like): it runs
    before the operation's rule; raise OrganizationsError to refuse, return a dict to answer, None to go on."""

    def register(fn: Rule) -> Rule:
        CHECKS.setdefault(operation, []).append(fn)
        return fn

    return register


def create_account_outcome(
    fn: CreateAccountOutcome,
) -> CreateAccountOutcome:
    """Register a reason a CreateAccount request may end FAILED (checked when it completes)."""
    CREATE_ACCOUNT_OUTCOMES.append(fn)
    return fn


def post_hook(operation: str) -> Callable[[PostHook], PostHook]:
    def register(fn: PostHook) -> PostHook:
        POST_HOOKS[operation] = fn
        return fn

    return register


# --------------------------------------------------------------------------------------------------
# Backend lookups


def _require_org(backend: Any) -> None:
    if backend.org is None:
        raise OrganizationsError(
            "AWSOrganizationsNotInUseException", "Your account is not a member of an organization."
        )


def _root(backend: Any) -> FakeRoot | None:
    return next((ou for ou in backend.ou if isinstance(ou, FakeRoot)), None)


def _find_container(backend: Any, container_id: str) -> FakeOrganizationalUnit | None:
    """A root or OU with that id."""
    return next((ou for ou in backend.ou if ou.id == container_id), None)


def _find_ou(backend: Any, ou_id: str) -> FakeOrganizationalUnit | None:
    return next((ou for ou in backend.ou if ou.id == ou_id and not isinstance(ou, FakeRoot)), None)


def _find_account(backend: Any, account_id: str) -> FakeAccount | None:
    return next((a for a in backend.accounts if a.id == account_id), None)


def _find_policy(backend: Any, policy_id: str) -> FakePolicy | None:
    return next((p for p in backend.policies if p.id == policy_id), None)


def _find_target(backend: Any, target_id: str) -> Any:
    return _find_container(backend, target_id) or _find_account(backend, target_id)


def _enabled_policy_types(backend: Any) -> set[str]:
    root = _root(backend)
    if root is None:
        return set()
    return {t["Type"] for t in root.policy_types if t.get("Status") == "ENABLED"}


def _depth(backend: Any, container: FakeOrganizationalUnit) -> int:
    """0 for the root, 1 for an OU directly under the root, ..."""
    depth = 0
    node: FakeOrganizationalUnit | None = container
    while node is not None and not isinstance(node, FakeRoot):
        depth += 1
        node = _find_container(backend, str(node.parent_id))
    return depth


def _require_policy(backend: Any, policy_id: Any) -> FakePolicy:
    policy = _find_policy(backend, str(policy_id))
    if policy is None:
        raise OrganizationsError(
            "PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified."
        )
    return policy


def _require_target(backend: Any, target_id: Any) -> Any:
    if not TARGET_ID_RE.match(str(target_id)):
        raise _invalid(
            "INVALID_PATTERN_TARGET_ID", "You specified a policy target ID that doesn't match the required pattern."
        )
    target = _find_target(backend, str(target_id))
    if target is None:
        raise OrganizationsError(
            "TargetNotFoundException",
            "We can't find a root, OU, account, or policy with the TargetId that you specified.",
        )
    return target


def _attach(policy: FakePolicy, target: Any) -> None:
    if policy not in target.attached_policies:
        target.attached_policies.append(policy)
    if target not in policy.attachments:
        policy.attachments.append(target)


def _detach_everywhere(policy: FakePolicy) -> None:
    for target in list(policy.attachments):
        if policy in target.attached_policies:
            target.attached_policies.remove(policy)
    policy.attachments.clear()


def normalize_policy_attachments(backend: Any) -> None:
    """No policy of a type that is not enabled in the root is attached anywhere.

    moto attaches FullAWSAccess and RCPFullAWSAccess to the root, every OU and every account
    although no policy type is enabled in a new organization.  AWS (EnablePolicyType): "After you
    enable a policy type in a root, you can attach policies of that type to the root, any
    organizational unit (OU), or account in that root." and (DisablePolicyType): "After you
    perform this operation, you no longer can attach policies of the specified type to that root
    or to any organizational unit (OU) or account in that root." -- disabling a type detaches all
    policies of that type.
    """
    if backend.org is None:
        return
    enabled = _enabled_policy_types(backend)
    for policy in backend.policies:
        if policy.type not in enabled and policy.attachments:
            _detach_everywhere(policy)

