"""What the organization's SCPs do to the operator's own baseline (pure: no AWS call).

The operator works in member accounts through the member role (``OrganizationAccountAccessRole`` unless
``AWSORG_MEMBER_ROLE_NAME`` says otherwise), and AWS authorizes those calls against the SCPs on each account's
path ("SCPs affect all users and roles in attached accounts": AWS Organizations user guide, "Service control
policies"; the management account is never subject). Two things follow:

* :func:`denial_in` reads an AccessDenied that names a service control policy (or resource control policy) out of
  the message AWS answers ("... is not authorized to perform: <action> on resource: <arn> with an explicit deny in
  a service control policy[: <policy ARN>]", or "... because no service control policy allows the <action>
  action": IAM user guide, "Troubleshoot access denied error messages"; the policy ARN since 2025, AWS Security
  Blog "Enhanced access denied error messages with policy ARNs"), so a member account's baseline says
  ``BlockedByPolicy`` with the policy, the action and the account instead of a generic failure.
* :func:`baseline_warnings` looks at the declared SCPs before anything is applied (``awsorg validate`` and
  ``plan``): a ``Deny`` statement that would match a call the baseline makes in a member account (AWS Config in a
  region a region guardrail leaves out, IAM or Config denied without exempting the member role), with the
  exemption to add.

This is the operator's own reading of SCPs, written apart from the sandbox's evaluator (controller/sandbox/scp.py)
so that one bug cannot cancel the other. It is deliberately cautious: a statement whose conditions use a key the
baseline's calls do not determine (a tag, a source IP) is not taken to deny, so a warning is never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The calls the baseline makes with the member role, by what asks for them (controller/aws/member.py and
#: central_logging.py). IAM requests are signed for us-east-1 (IAM is global), so that is their aws:RequestedRegion.
ACCESS_ROLE_ACTIONS = ("iam:GetRole", "iam:ListAttachedRolePolicies", "iam:CreateRole", "iam:UpdateAssumeRolePolicy",
                       "iam:UpdateRole", "iam:AttachRolePolicy", "iam:DetachRolePolicy")
CONFIG_ACTIONS = ("config:DescribeConfigurationRecorderStatus", "config:DescribeDeliveryChannels",
                  "config:DescribeDeliveryChannelStatus",
                  "config:PutConfigurationRecorder", "config:PutDeliveryChannel", "config:StartConfigurationRecorder")
CONFIG_GLOBAL_ACTIONS = ("iam:CreateServiceLinkedRole",)
ARCHIVE_ACTIONS = ("s3:CreateBucket", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
                   "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:GetBucketPolicy",
                   "config:PutConfigurationAggregator", "iam:CreateRole", "iam:AttachRolePolicy")
IAM_REGION = "us-east-1"

_DENIED = re.compile(r"is not authorized to perform: (?P<action>[A-Za-z0-9-]+:[A-Za-z0-9*]+)"
                     r".*?(?:with an explicit deny in an? (?P<explicit>service|resource) control policy"
                     r"(?::\s*(?P<arn>arn:[^\s]+/(?P<id>p-[0-9a-zA-Z_]+)))?"
                     r"|because no (?P<implicit>service|resource) control policy allows)", re.DOTALL)


@dataclass(frozen=True)
class PolicyDenial:
    """An AccessDenied that names an SCP or RCP."""

    kind: str  # "service control policy" / "resource control policy"
    action: str
    explicit: bool
    policy_id: str | None  # named when AWS names it (explicit denies, same organization)

    def describe(self, account_id: str, policy_name: str | None = None) -> str:
        which = (f"{policy_name!r} ({self.policy_id})" if policy_name and self.policy_id
                 else self.policy_id or "on the account's path")
        if self.explicit:
            return (f"the {self.kind} {which} denies {self.action} to the operator in account {account_id}; "
                    f"exempt the member role in it (aws:PrincipalArn) or change it")
        return (f"no {self.kind} on account {account_id}'s path allows {self.action}; an allow list must allow it "
                "at the root, every OU and the account")


def denial_in(error: str) -> PolicyDenial | None:
    """The SCP/RCP denial an error message (``Operation: Code: message``) reports; None for any other error."""
    if "AccessDenied" not in error:
        return None
    match = _DENIED.search(error)
    if match is None:
        return None
    kind = (match.group("explicit") or match.group("implicit")) + " control policy"
    return PolicyDenial(kind, match.group("action"), match.group("explicit") is not None, match.group("id"))


def blocked_message(account_id: str, error: str, names: Mapping[str, str] | None = None) -> str | None:
    """The BlockedByPolicy message for a look's error (``names``: policy id -> the object that declares it)."""
    denial = denial_in(error)
    if denial is None:
        return None
    name = (names or {}).get(denial.policy_id or "")
    return f"{denial.describe(account_id, name)} ({error})"


def with_names(message: str, names: Callable[[str], str | None]) -> str:
    """A BlockedByPolicy message with the denying policy's object name beside its id (``names``: id -> the
    ServiceControlPolicy object bound to it, None when no object declares it)."""
    def one(match: re.Match[str]) -> str:
        name = names(match.group(2))
        return f"{match.group(1)}{name!r} ({match.group(2)}) denies" if name else match.group(0)
    return _NAMED.sub(one, message, count=1)


_NAMED = re.compile(r"(control policy )(p-[0-9a-zA-Z_]+) denies")


# ------------------------------------------------------------------------------------------ validate / plan


@dataclass(frozen=True)
class DeclaredPolicy:
    """A ServiceControlPolicy object of type SERVICE_CONTROL_POLICY: its name, document and target keys ("root",
    "OrgUnit/<name>", "AwsAccount/<name>", "id/<id>")."""

    name: str
    document: Mapping[str, Any]
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Baseline:
    """What the Organization asks of member accounts, as far as SCPs can stand in its way."""

    member_role: str
    access_role: bool = False
    config_regions: tuple[str, ...] = ()
    archive_region: str | None = None  # the log archive's home region (centralLogging)
    archive_path: frozenset[str] | None = None  # target keys on the log archive account's path; None: unknown


@dataclass(frozen=True)
class ScpWarning:
    policy: str
    statement: str  # its Sid, or its index
    message: str


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _action_matches(stmt: Mapping[str, Any], action: str) -> bool:
    if "Action" in stmt:
        return any(_glob(str(a), action, case=False) for a in _as_list(stmt["Action"]))
    if "NotAction" in stmt:
        return not any(_glob(str(a), action, case=False) for a in _as_list(stmt["NotAction"]))
    return False


_KNOWN_KEYS = ("aws:requestedregion", "aws:principalarn")
_POSITIVE = {"StringEquals": (True, False), "StringLike": (True, True), "ArnEquals": (True, True),
             "ArnLike": (True, True), "StringEqualsIgnoreCase": (False, False)}
_NEGATIVE = {"StringNotEquals": (True, False), "StringNotLike": (True, True), "ArnNotEquals": (True, True),
             "ArnNotLike": (True, True), "StringNotEqualsIgnoreCase": (False, False)}


def _condition(condition: Any, region: str, role_arn: str) -> bool | None:
    """Whether the statement's conditions hold for a baseline call (True/False), or None when they use something
    this reading does not decide (then no warning)."""
    if not condition:
        return True
    if not isinstance(condition, dict):
        return None
    for operator, pairs in condition.items():
        op = str(operator).removesuffix("IfExists")
        if not isinstance(pairs, dict) or ":" in op or (op not in _POSITIVE and op not in _NEGATIVE):
            return None
        for key, wanted in pairs.items():
            low = str(key).lower()
            if low not in _KNOWN_KEYS:
                return None
            actual = region if low == "aws:requestedregion" else role_arn
            case, wild = _POSITIVE.get(op) or _NEGATIVE[op]
            values = [str(w) for w in _as_list(wanted)]
            if wild:
                hit = any(_glob(w, actual, case=case) for w in values)
            else:
                hit = (actual if case else actual.lower()) in [w if case else w.lower() for w in values]
            if (op in _POSITIVE) != hit:
                return False
    return True


def _denies(stmt: Mapping[str, Any], action: str, region: str, role_arn: str) -> bool:
    if stmt.get("Effect") != "Deny" or not _action_matches(stmt, action):
        return False
    resources = [str(r) for r in _as_list(stmt.get("Resource", "*"))] if "NotResource" not in stmt else []
    if "*" not in resources:
        return False  # a deny on named resources: not decided here
    return _condition(stmt.get("Condition"), region, role_arn) is True


def _calls(baseline: Baseline, on_archive_path: bool) -> list[tuple[str, str, str]]:
    """(action, region, why) of every call the baseline makes in an account under the target."""
    calls = [(a, IAM_REGION, "spec.accessRole") for a in ACCESS_ROLE_ACTIONS if baseline.access_role]
    for region in baseline.config_regions:
        calls += [(a, region, "spec.centralLogging.config.regions") for a in CONFIG_ACTIONS]
    if baseline.config_regions:
        calls += [(a, IAM_REGION, "spec.centralLogging.config") for a in CONFIG_GLOBAL_ACTIONS]
    if on_archive_path and baseline.archive_region:
        calls += [(a, IAM_REGION if a.startswith("iam:") else baseline.archive_region,
                   "spec.centralLogging (the log archive account)") for a in ARCHIVE_ACTIONS]
    return calls


def _exemption(role: str) -> str:
    return f'"ArnNotLike": {{"aws:PrincipalArn": "arn:aws:iam::*:role/{role}"}}'


def baseline_warnings(policies: Iterable[DeclaredPolicy], baseline: Baseline) -> list[ScpWarning]:
    """A warning per declared SCP statement that would deny a call the Organization's baseline makes in a member
    account, saying which calls, where, and the exemption to add."""
    role_arn = f"arn:aws:iam::123456789012:role/{baseline.member_role}"  # any member account: the ARN's shape
    found: list[ScpWarning] = []
    for policy in policies:
        if not policy.targets:
            continue
        archive = baseline.archive_path is None or bool(set(policy.targets) & baseline.archive_path)
        calls = _calls(baseline, archive)
        for i, stmt in enumerate(_as_list(policy.document.get("Statement", []))):
            if not isinstance(stmt, dict):
                continue
            denied = [(a, r, why) for a, r, why in calls if _denies(stmt, a, r, role_arn)]
            if not denied:
                continue
            sid = str(stmt.get("Sid") or f"Statement[{i}]")
            found.append(ScpWarning(policy.name, sid, _warning_text(policy, sid, denied, baseline)))
    return found


def _warning_text(policy: DeclaredPolicy, sid: str, denied: Sequence[tuple[str, str, str]], baseline: Baseline) -> str:
    actions = sorted({a for a, _, _ in denied})
    regions = sorted({r for a, r, _ in denied if not a.startswith("iam:")})
    whys = sorted({why for _, _, why in denied})
    shown = ", ".join(actions[:4]) + (f" and {len(actions) - 4} more" if len(actions) > 4 else "")
    where = f" in {', '.join(regions)}" if regions else ""
    condition = _statement_by_sid(policy, sid).get("Condition")
    keys = {str(k).lower() for pairs in (condition.values() if isinstance(condition, dict) else [])
            if isinstance(pairs, dict) for k in pairs}
    region_hint = f"add {', '.join(regions)} to its aws:RequestedRegion list, or " if (
        regions and "aws:requestedregion" in keys) else ""
    return (f"statement {sid} would deny the operator's member role {baseline.member_role!r} {shown}{where} in the "
            f"accounts under {', '.join(policy.targets)} (asked for by {', '.join(whys)}); AWS answers AccessDenied "
            f"and the baseline reports BlockedByPolicy. To let it through, {region_hint}exempt the role in the "
            f"statement's Condition: {_exemption(baseline.member_role)}")


def _statement_by_sid(policy: DeclaredPolicy, sid: str) -> Mapping[str, Any]:
    for i, stmt in enumerate(_as_list(policy.document.get("Statement", []))):
        if isinstance(stmt, dict) and str(stmt.get("Sid") or f"Statement[{i}]") == sid:
            return stmt
    return {}


# ------------------------------------------------------------------------------------------ from the objects' specs


def _name_of(ref: Any) -> str | None:
    return ref["name"] if isinstance(ref, dict) and isinstance(ref.get("name"), str) else None


def target_keys(targets: Any) -> tuple[str, ...]:
    """A ServiceControlPolicy's ``spec.targets`` as target keys."""
    targets = targets if isinstance(targets, dict) else {}
    keys = ["root"] if targets.get("root") is True else []
    for list_key, kind in (("orgUnitRefs", "OrgUnit"), ("accountRefs", "AwsAccount")):
        refs = targets.get(list_key)
        keys += [f"{kind}/{n}" for n in map(_name_of, refs if isinstance(refs, list) else []) if n]
    ids = targets.get("ids")
    keys += ["root" if i.startswith("r-") else f"id/{i}" for i in (ids if isinstance(ids, list) else [])
             if isinstance(i, str)]
    return tuple(dict.fromkeys(keys))


def account_path(name: str, accounts: Mapping[str, Mapping[str, Any]],
                 org_units: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """The target keys on an AwsAccount's path: the account, its OrgUnits up to the root, the root."""
    keys = {"root", f"AwsAccount/{name}"}
    account = accounts.get(name) or {}
    if isinstance(account.get("parentId"), str):
        keys.add(f"id/{account['parentId']}")
    parent = _name_of(account.get("orgUnitRef"))
    while parent is not None and f"OrgUnit/{parent}" not in keys:
        keys.add(f"OrgUnit/{parent}")
        ou = org_units.get(parent) or {}
        if isinstance(ou.get("parentId"), str):
            keys.add(f"id/{ou['parentId']}")
        parent = _name_of(ou.get("parentRef"))
    return frozenset(keys)


def spec_warnings(organization: Mapping[str, Any], policies: Mapping[str, Mapping[str, Any]],
                  accounts: Mapping[str, Mapping[str, Any]], org_units: Mapping[str, Mapping[str, Any]],
                  member_role: str) -> list[ScpWarning]:
    """:func:`baseline_warnings` from the objects' specs (the Organization's, the SCPs' by object name, the
    AwsAccounts' and OrgUnits' by name), as ``awsorg validate`` and ``plan`` read them."""
    logging = organization.get("centralLogging") if isinstance(organization.get("centralLogging"), dict) else None
    config = (logging or {}).get("config")
    config = config if isinstance(config, dict) else {}
    home = (logging or {}).get("homeRegion")
    home = home if isinstance(home, str) else "us-east-1"
    regions: tuple[str, ...] = ()
    if logging is not None and config.get("enabled", True) is not False:
        listed = config.get("regions")
        regions = (tuple(r for r in listed if isinstance(r, str)) if isinstance(listed, list) and listed
                   else (home,))
    archive = _name_of((logging or {}).get("accountRef"))
    baseline = Baseline(member_role, access_role=isinstance(organization.get("accessRole"), dict),
                        config_regions=regions, archive_region=home if logging is not None else None,
                        archive_path=account_path(archive, accounts, org_units) if archive else None)
    declared = [DeclaredPolicy(name, spec["document"], target_keys(spec.get("targets")))
                for name, spec in policies.items() if isinstance(spec.get("document"), dict)]
    return baseline_warnings(declared, baseline)
