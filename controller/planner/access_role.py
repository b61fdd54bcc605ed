"""Plan the access role in every member account: desired role + what each account holds -> actions. Pure.

The desired role: ``roleName``, a trust policy that admits exactly ``trustedPrincipals`` (``sts:AssumeRole``)
under exactly ``conditions``, ``maxSessionDuration``, and exactly ``managedPolicyArns`` attached. Trust policies
are compared by meaning, not text: IAM gives them back URL-encoded (GetRole's raw answer) or parsed, keys in any
order, a principal or a condition's value as a string or a list (values in any order), an account as its id or its
root ARN, with or without a ``Sid``, condition key names in any case (IAM user guide, "IAM JSON policy elements:
Condition": "Context key names are not case-sensitive"), a Bool or number as JSON's or as a string. A condition
missing, added or changed is drift.

A role missing from an account that never had its baseline is new work (a new or adopted account), carried
out under ``AWSORG_DRIFT_POLICY=report`` too; a role that exists but differs, or is gone from an account that
was compliant, is drift.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from controller.api import limits
from controller.planner.actions import (
    Action,
    AttachRolePolicy,
    CreateAccessRole,
    DetachRolePolicy,
    Difference,
    UpdateAccessRoleMaxSession,
    UpdateAccessRoleTrust,
)
from controller.planner.scp_effects import blocked_message
from controller.state import MemberAccess

ACCOUNT_ID = re.compile(r"^\d{12}$")
# The principals a role trust policy may name by ARN (IAM user guide, "AWS JSON policy elements: Principal", "How
# to specify a principal"): an "AWS account and root user" (arn:aws:iam::123456789012:root), "IAM roles"
# (arn:aws:iam::AWS-account-ID:role/role-name, with its path if it has one), "IAM users"
# (arn:aws:iam::AWS-account-ID:user/user-name); "You cannot identify a user group as a principal", and a wildcard
# cannot match part of a principal's name. Names and paths as IAM spells them (RoleName/UserName: [\w+=,.@-], at
# most 64; a path is / or starts and ends with /). IAM refuses anything else with MalformedPolicyDocument
# "Invalid principal in policy".
PRINCIPAL_ARN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:(root|(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]{1,64})$")
PRINCIPALS_ALLOWED = ("an account (arn:aws:iam::123456789012:root), a role (arn:aws:iam::123456789012:role/Name) or "
                      "a user (arn:aws:iam::123456789012:user/Name), without wildcards")
State = Literal["compliant", "pending", "failed"]


@dataclass(frozen=True)
class TrustCondition:
    """One condition of the trust policy's statement: ``{operator: {key: values}}``."""

    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class DesiredAccessRole:
    role_name: str
    trusted_principals: tuple[str, ...]
    managed_policy_arns: tuple[str, ...] = ()
    via_role: str = "OrganizationAccountAccessRole"  # the role the operator assumes: never this one
    conditions: tuple[TrustCondition, ...] = ()
    max_session_duration: int = limits.ROLE_SESSION_DEFAULT

    def trust_policy(self) -> dict[str, Any]:
        principals = sorted(set(self.trusted_principals))
        statement: dict[str, Any] = {
            "Effect": "Allow", "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": "sts:AssumeRole"}
        if self.conditions:
            block: dict[str, dict[str, Any]] = {}
            for c in self.conditions:
                values = list(dict.fromkeys(c.values))
                block.setdefault(c.operator, {})[c.key] = values[0] if len(values) == 1 else values
            statement["Condition"] = block
        return {"Version": "2012-10-17", "Statement": [statement]}

    def trust_policy_json(self) -> str:
        return json.dumps(self.trust_policy(), separators=(",", ":"))


@dataclass(frozen=True)
class Verdict:
    """One member account's baseline: compliant, pending (a wait) or failed, with a reason and a message."""

    account_id: str
    state: State
    reason: str
    message: str = ""


@dataclass(frozen=True)
class AccountPlan:
    actions: tuple[Action, ...] = ()
    fresh: tuple[Action, ...] = ()  # new work, not corrections
    differences: tuple[Difference, ...] = ()


def parse_policy(document: str | Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A policy document as IAM returns it (JSON, URL-encoded JSON, or parsed) -> a mapping; None: unreadable."""
    if isinstance(document, Mapping):
        return document
    text = document.strip()
    if not text.startswith("{"):
        text = urllib.parse.unquote(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _text(value: Any) -> str:
    """A value as IAM compares it: JSON's true/false and numbers as their text ("true", "3600")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _values(value: Any) -> tuple[str, ...]:
    items: Iterable[Any] = value if isinstance(value, list) else [value]
    return tuple(sorted({_text(v) for v in items if v is not None}))


def _principal(kind: str, value: str) -> str:
    if kind == "AWS" and ACCOUNT_ID.match(value):
        return f"arn:aws:iam::{value}:root"  # IAM stores an account id as its root ARN
    return value


def _conditions(condition: Any) -> tuple[tuple[str, str, tuple[str, ...]], ...] | None:
    """A Condition block's meaning: (operator, key in lower case, its values as a set), sorted; None: unreadable."""
    if not condition:
        return ()
    if not isinstance(condition, Mapping):
        return None
    found: set[tuple[str, str, tuple[str, ...]]] = set()
    for operator, block in condition.items():
        if not isinstance(block, Mapping):
            return None
        for key, value in block.items():
            values = _values(value)
            if str(operator).removeprefix("ForAllValues:").removeprefix("ForAnyValue:").startswith("Bool"):
                values = tuple(sorted({v.lower() for v in values}))  # Bool compares "true"/"True" alike
            found.add((str(operator), str(key).lower(), values))
    return tuple(sorted(found))


def normalize_trust(document: str | Mapping[str, Any]) -> frozenset[Any] | None:
    """The meaning of a trust policy: its statements as comparable values (Sid and Version aside)."""
    parsed = parse_policy(document)
    if parsed is None:
        return None
    statements = parsed.get("Statement", [])
    out = set()
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, Mapping):
            return None
        principals: list[tuple[str, tuple[str, ...]]] = []
        for key in ("Principal", "NotPrincipal"):
            value = st.get(key)
            if isinstance(value, Mapping):
                principals += [(f"{key}.{kind}", tuple(sorted(_principal(kind, v) for v in _values(vals))))
                               for kind, vals in value.items()]
            elif value is not None:
                principals.append((key, _values(value)))
        actions = tuple(sorted(a.lower() for a in _values(st.get("Action")) + _values(st.get("NotAction"))))
        condition = _conditions(st.get("Condition"))
        if condition is None:
            return None
        out.add((st.get("Effect"), "NotAction" in st, actions, tuple(sorted(principals)), condition))
    return frozenset(out)


def describe_trust(document: str | Mapping[str, Any]) -> str:
    parsed = parse_policy(document)
    return json.dumps(parsed, separators=(",", ":"), sort_keys=True) if parsed is not None else str(document)


def principal_problem(principal: str) -> str | None:
    """Why IAM would refuse this principal ARN in a trust policy (None: well-formed)."""
    if PRINCIPAL_ARN.match(principal):
        return None
    return f"{principal!r} is not a principal IAM accepts in a trust policy; allowed: {PRINCIPALS_ALLOWED}"


def role_name_problem(role_name: str, via_role: str) -> str | None:
    """The access role must not be the role the operator itself assumes in member accounts."""
    if role_name != via_role:
        return None
    return (f"{role_name!r} is the role the operator assumes in every member account (AWSORG_MEMBER_ROLE_NAME); "
            "managing its trust policy could lock the operator (and the management account) out. Name another role")


def trust_policy_length(desired: DesiredAccessRole) -> int:
    """The trust policy's length as IAM counts it against its quota (white space not counted)."""
    return len("".join(desired.trust_policy_json().split()))


def trust_policy_problem(desired: DesiredAccessRole) -> str | None:
    """Why IAM would refuse the trust policy's length (None: it fits)."""
    length = trust_policy_length(desired)
    if length <= limits.TRUST_POLICY_LENGTH:
        return None
    return (f"the trust policy would be {length} characters; IAM allows {limits.TRUST_POLICY_LENGTH} (quota \"Role "
            "trust policy length\", white space not counted): fewer principals, conditions or values")


def condition_problems(desired: DesiredAccessRole) -> list[str]:
    """The conditions IAM would refuse (an unknown operator: MalformedPolicyDocument), or [] ."""
    problems = []
    for i, condition in enumerate(desired.conditions):
        bad = limits.condition_operator_problem(condition.operator)
        if bad is not None:
            problems.append(f"spec.accessRole.conditions[{i}].operator: {bad}; allowed: "
                            f"{limits.CONDITION_OPERATOR_WORDS}")
    return problems


def check_access_role(desired: DesiredAccessRole) -> str | None:
    """A refusal (InvalidSpec) beyond the schema, or None."""
    problems = condition_problems(desired)
    name = role_name_problem(desired.role_name, desired.via_role)
    if name is not None:
        problems.append(f"spec.accessRole.roleName: {name}")
    for i, principal in enumerate(desired.trusted_principals):
        malformed = principal_problem(principal)
        if malformed is not None:
            problems.append(f"spec.accessRole.trustedPrincipals[{i}]: {malformed}")
    session = desired.max_session_duration
    if not limits.ROLE_SESSION_MIN <= session <= limits.ROLE_SESSION_MAX:
        problems.append(f"spec.accessRole.maxSessionDuration: {session} seconds is outside IAM's range; allowed: "
                        f"{limits.ROLE_SESSION_MIN} to {limits.ROLE_SESSION_MAX}")
    too_long = trust_policy_problem(desired)
    if too_long is not None:
        problems.append(f"spec.accessRole: {too_long}")
    too_many = managed_policies_problem(desired)
    if too_many is not None:
        problems.append(f"spec.accessRole.managedPolicyArns: {too_many}")
    return "; ".join(problems) or None


def managed_policies_problem(desired: DesiredAccessRole) -> str | None:
    """Why IAM would refuse to attach that many managed policies to one role (None: they fit)."""
    count, allowed = len(set(desired.managed_policy_arns)), limits.active().role_managed_policies
    if count <= allowed:
        return None
    return (f"{count} managed policies; IAM attaches at most {allowed} to a role (quota 'Managed policies "
            "attached to an IAM role', AttachRolePolicy answers LimitExceeded: Cannot exceed quota for "
            "PoliciesPerRole); fewer policies, or if your account's quota was raised, "
            f"{limits.setting('role-managed-policies', count)}")


def plan_account(desired: DesiredAccessRole, access: MemberAccess, *, was_compliant: bool = False) -> AccountPlan:
    """What one reachable member account needs. ``was_compliant``: it had its baseline before (a role gone
    since is drift, not new work)."""
    account = access.account_id
    role = access.role
    prefix = f"accessRole[{account}]"
    if not access.reached:
        return AccountPlan()
    if role is None:
        work: tuple[Action, ...] = (CreateAccessRole(account, desired.role_name, desired.trust_policy_json(),
                                                     desired.max_session_duration),
                                    *(AttachRolePolicy(account, desired.role_name, arn)
                                      for arn in sorted(set(desired.managed_policy_arns))))
        if was_compliant:
            return AccountPlan(actions=work, differences=(Difference(prefix, desired.role_name, None),))
        return AccountPlan(actions=work, fresh=work)
    actions: list[Action] = []
    diffs: list[Difference] = []
    if normalize_trust(role.trust_policy) != normalize_trust(desired.trust_policy()):
        actions.append(UpdateAccessRoleTrust(account, desired.role_name, desired.trust_policy_json()))
        diffs.append(Difference(f"{prefix}.trustPolicy", desired.trust_policy_json(),
                                describe_trust(role.trust_policy)))
    if role.max_session_duration != desired.max_session_duration:
        actions.append(UpdateAccessRoleMaxSession(account, desired.role_name, desired.max_session_duration,
                                                  role.max_session_duration))
        diffs.append(Difference(f"{prefix}.maxSessionDuration", str(desired.max_session_duration),
                                str(role.max_session_duration)))
    wanted = set(desired.managed_policy_arns)
    missing, extra = sorted(wanted - role.attached), sorted(role.attached - wanted)
    if missing or extra:
        diffs.append(Difference(f"{prefix}.managedPolicyArns", ", ".join(sorted(wanted)) or None,
                                ", ".join(sorted(role.attached)) or None))
    actions += [DetachRolePolicy(account, desired.role_name, arn) for arn in extra]
    actions += [AttachRolePolicy(account, desired.role_name, arn) for arn in missing]
    return AccountPlan(actions=tuple(actions), differences=tuple(diffs))


class _Look(Protocol):
    @property
    def error(self) -> str | None: ...

    @property
    def waiting(self) -> bool: ...


def not_reached(account_id: str, what: str, look: _Look | None) -> Verdict | None:
    """The verdict on one member account when its last look did not reach it (or there was none); None: it did."""
    if look is None:
        return Verdict(account_id, "pending", "NotObserved", f"{what} has not been looked at yet")
    if look.waiting:
        return Verdict(account_id, "pending", "WaitingForAccountAccess",
                       f"{look.error}; AWS makes a new account's role assumable a while after CreateAccount: "
                       "looked at again on every resync")
    if look.error is not None:
        blocked = blocked_message(account_id, look.error)  # an SCP/RCP denied the operator's call there
        if blocked is not None:
            return Verdict(account_id, "failed", "BlockedByPolicy", blocked)
        return Verdict(account_id, "failed", "BaselineFailed", look.error)
    return None


def verdict(desired: DesiredAccessRole, account_id: str, access: MemberAccess | None) -> Verdict:
    """Where one member account stands, from what was last seen there (after the operator's own writes)."""
    unreached = not_reached(account_id, "the access role", access)
    if unreached is not None or access is None:
        return unreached or Verdict(account_id, "pending", "NotObserved", "")
    plan = plan_account(desired, access)
    if not plan.actions:
        return Verdict(account_id, "compliant", "Compliant", f"role {desired.role_name!r} as declared")
    if access.role is None:
        return Verdict(account_id, "failed", "AccessRoleMissing", f"role {desired.role_name!r} does not exist")
    what = ", ".join(d.field.removeprefix(f"accessRole[{account_id}].") for d in plan.differences)
    return Verdict(account_id, "failed", "AccessRoleDiffers", f"role {desired.role_name!r} differs from the spec "
                   f"in {what}")
