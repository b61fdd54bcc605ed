"""The administrator's policy applied to what an object asks (pure: the spec and what is known of the organization).

``refusals`` answers, for one object's spec, every rule of the administrator's policy (``controller.api.guardrails``)
that it breaks, each naming the rule, the field and what is allowed. The operator refuses such an object before any
AWS call (``Synced=False``, reason ``ForbiddenByPolicy``); ``awsorg validate --policy`` and ``awsorg plan --policy``
report the same refusals before merge. What cannot be known offline (whether an account belongs to the organization)
is given as ``Facts``; a fact that is unknown (None) skips the rule that needs it, and ``unchecked`` says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from controller.api import limits
from controller.api.guardrails import ORGANIZATION, REASON, OperatorPolicy, matches
from controller.api.models import AccessRole, AwsAccountSpec, OrganizationSpec, OrgUnitSpec, ServiceControlPolicySpec
from controller.planner.actions import (
    Action,
    AttachPolicy,
    CloseAccount,
    DeleteOU,
    DeletePolicy,
    DeregisterDelegatedAdministrator,
    DetachPolicy,
    MoveAccount,
    PutConfigRecorder,
    PutLogBucketRetention,
    PutOrganizationTrail,
    RemoveAccount,
    RenameOU,
    TagResource,
    UntagResource,
    UpdatePolicy,
)

__all__ = ["REASON", "Facts", "Refusal", "forbidden_actions", "refusals", "unchecked"]


@dataclass(frozen=True)
class Refusal:
    rule: str  # the policy's field, as the administrator writes it: accessRole.allowedPrincipals
    field: str  # the object's field: spec.accessRole.trustedPrincipals[0]
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (administrator's policy: {self.rule})"


@dataclass(frozen=True)
class Facts:
    """What the checks need to know beyond the spec. None: not known here (validate, offline)."""

    management_account_id: str | None = None
    organization_accounts: frozenset[str] | None = None  # every account id in the organization
    delegated_administrators: frozenset[str] = frozenset()  # account ids registered for any service
    log_archive_account_id: str | None = None
    member_role_name: str = "OrganizationAccountAccessRole"
    # An AwsAccount's metadata.name -> its account id (from its status or spec), when known.
    account_ids: Mapping[str, str] = field(default_factory=dict)


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "none"


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _organization(spec: OrganizationSpec, policy: OperatorPolicy, facts: Facts) -> list[Refusal]:
    found: list[Refusal] = []
    role = spec.access_role
    if role is not None:
        never = (*policy.access_role.never_adopt, facts.member_role_name)
        if matches(role.role_name, never):
            found.append(Refusal("accessRole.neverAdopt", "spec.accessRole.roleName",
                                 f"role {role.role_name!r} belongs to another controller of the accounts (or is the "
                                 f"operator's own member role) and is never adopted; not allowed: {_list(never)}"))
        allowed = policy.access_role.allowed_principals
        explicit = tuple(p for p in allowed if p != ORGANIZATION)
        for i, principal in enumerate(role.trusted_principals):
            if matches(principal, explicit):
                continue
            account = _account_of(principal)
            if ORGANIZATION in allowed:
                known = facts.organization_accounts
                if known is None:
                    continue  # not known offline: the operator and plan check it against the organization
                if account in known or account == facts.management_account_id:
                    continue
                what = f"account {account} is not in this organization"
            else:
                what = "it matches none of the allowed patterns"
            found.append(Refusal("accessRole.allowedPrincipals", f"spec.accessRole.trustedPrincipals[{i}]",
                                 f"{principal!r} may not be trusted: {what}; allowed: {_list(allowed)}"))
        found += _conditions(role, policy)
        for i, arn in enumerate(role.managed_policy_arns):
            if not matches(arn, policy.access_role.allowed_managed_policies):
                found.append(Refusal("accessRole.allowedManagedPolicies", f"spec.accessRole.managedPolicyArns[{i}]",
                                     f"{arn!r} may not be attached; allowed: "
                                     f"{_list(policy.access_role.allowed_managed_policies)}"))
    services = policy.services
    for i, principal in enumerate(spec.trusted_services):
        if not matches(principal, services.allowed_trusted_services):
            found.append(Refusal("services.allowedTrustedServices", f"spec.trustedServices[{i}]",
                                 f"trusted access for {principal!r} is not allowed; allowed: "
                                 f"{_list(services.allowed_trusted_services)}"))
    named: dict[str, set[str]] = {}
    for i, admin in enumerate(spec.delegated_administrators):
        where = f"spec.delegatedAdministrators[{i}]"
        service = admin.service_principal
        holder: str | None = admin.account_id or (
            facts.account_ids.get(admin.account_ref.name) if admin.account_ref else None)
        if holder:
            named.setdefault(service, set()).add(holder)
        if matches(service, services.forbidden_delegations):
            found.append(Refusal("services.forbiddenDelegations", f"{where}.servicePrincipal",
                                 f"no account may be delegated administrator of {service!r} (it could change other "
                                 f"accounts' settings); forbidden: {_list(services.forbidden_delegations)}"))
            continue
        if services.delegated_administrators is not None and holder is not None:
            allowed_accounts = tuple(a for pattern, accounts in services.delegated_administrators.items()
                                     if matches(service, (pattern,)) for a in accounts)
            if holder not in allowed_accounts:
                found.append(Refusal("services.delegatedAdministrators", where,
                                     f"account {holder} may not be delegated administrator of {service!r}; allowed: "
                                     f"{_list(allowed_accounts)}"))
    for service, accounts in services.protected_delegations.items():
        if service not in named:
            continue  # the spec names no administrator of this service: it leaves that service's ones alone
        for account in accounts:
            if account not in named[service]:
                found.append(Refusal("services.protectedDelegations", "spec.delegatedAdministrators",
                                     f"account {account} is the protected delegated administrator of {service!r} "
                                     "and would be deregistered (the list means exactly these); add it to the list"))
    logging = spec.central_logging
    rules = policy.central_logging
    if logging is not None:
        archive = facts.account_ids.get(logging.account_ref.name)
        if rules.log_archive_account_id and archive is not None and archive != rules.log_archive_account_id:
            found.append(Refusal("centralLogging.logArchiveAccountId", "spec.centralLogging.accountRef",
                                 f"the log archive must be account {rules.log_archive_account_id}, not {archive}"))
        minimum = rules.minimum_retention_days
        if minimum is not None and logging.retention_days is not None and logging.retention_days < minimum:
            found.append(Refusal("centralLogging.minimumRetentionDays", "spec.centralLogging.retentionDays",
                                 f"{logging.retention_days} days is below the minimum of {minimum} (the bucket's "
                                 "lifecycle would expire logs already written)"))
    if spec.deletion_policy not in policy.deletion.organization:
        found.append(_deletion("deletion.organization", spec.deletion_policy, policy.deletion.organization))
    return found


def _conditions(role: AccessRole, policy: OperatorPolicy) -> list[Refusal]:
    """accessRole.requiredConditions (each carried, with allowed values only) and accessRole.maxSessionDuration."""
    found: list[Refusal] = []
    for required in policy.access_role.required_conditions:
        wanted = f"{required.operator} {required.key}"
        allowed = f" with values among {_list(required.values)}" if required.values is not None else ""
        carried = [(i, c) for i, c in enumerate(role.conditions)
                   if c.operator == required.operator and c.key.lower() == required.key.lower()]
        if not carried:
            found.append(Refusal("accessRole.requiredConditions", "spec.accessRole.conditions",
                                 f"the trust policy must carry the condition {wanted}{allowed}; add it to "
                                 "spec.accessRole.conditions"))
            continue
        i, condition = carried[0]
        extra = tuple(v for v in condition.values if required.values is not None and v not in required.values)
        if extra:
            found.append(Refusal("accessRole.requiredConditions", f"spec.accessRole.conditions[{i}].values",
                                 f"{_list(extra)} may not be values of {wanted}; allowed: "
                                 f"{_list(required.values or ())}"))
    longest = policy.access_role.max_session_duration
    if longest is not None and role.max_session_duration > longest:
        found.append(Refusal("accessRole.maxSessionDuration", "spec.accessRole.maxSessionDuration",
                             f"{role.max_session_duration} seconds is longer than allowed; allowed: "
                             f"{limits.ROLE_SESSION_MIN} to {longest}"))
    return found


def _deletion(rule: str, value: str, allowed: tuple[str, ...]) -> Refusal:
    return Refusal(rule, "spec.deletionPolicy", f"{value!r} is not allowed; allowed: {_list(allowed)}")


def _account(name: str, spec: AwsAccountSpec, account_id: str | None, policy: OperatorPolicy,
             facts: Facts) -> list[Refusal]:
    found: list[Refusal] = []
    if spec.deletion_policy not in policy.deletion.aws_account:
        found.append(_deletion("deletion.awsAccount", spec.deletion_policy, policy.deletion.aws_account))
    account = spec.account_id or account_id
    if spec.deletion_policy in ("Close", "RemoveFromOrganization") and account:
        why = None
        if account == facts.management_account_id:
            why = "it is the management account"
        elif account == facts.log_archive_account_id or account == policy.central_logging.log_archive_account_id:
            why = "it is the log archive (closing it destroys the evidence)"
        elif account in facts.delegated_administrators:
            why = "it is a delegated administrator"
        elif account in policy.protected.accounts:
            why = "it is protected by the administrator's policy"
        if why:
            found.append(Refusal("deletion.awsAccount", "spec.deletionPolicy",
                                 f"{spec.deletion_policy} is never allowed for account {account}: {why}; use Retain"))
    allowed = policy.accounts.allowed_org_units
    if allowed is not None:
        place = spec.org_unit_ref.name if spec.org_unit_ref else (spec.parent_id or "root")
        if place not in allowed and not (place.startswith("r-") and "root" in allowed):
            field_name = "spec.orgUnitRef" if spec.org_unit_ref else "spec.parentId"
            found.append(Refusal("accounts.allowedOrgUnits", field_name,
                                 f"account {name!r} may not be placed in {place!r}; allowed: {_list(allowed)}"))
    return found


def refusals(name: str, spec: BaseModel, resource_id: str | None, policy: OperatorPolicy,
             facts: Facts) -> list[Refusal]:
    """Every rule of ``policy`` the object breaks (empty: allowed). ``resource_id``: its AWS id, when bound."""
    if isinstance(spec, OrganizationSpec):
        return _organization(spec, policy, facts)
    if isinstance(spec, AwsAccountSpec):
        return _account(name, spec, resource_id, policy, facts)
    if isinstance(spec, OrgUnitSpec):
        ok = policy.deletion.org_unit
        return [] if spec.deletion_policy in ok else [_deletion("deletion.orgUnit", spec.deletion_policy, ok)]
    if isinstance(spec, ServiceControlPolicySpec):
        ok = policy.deletion.service_control_policy
        return [] if spec.deletion_policy in ok else [
            _deletion("deletion.serviceControlPolicy", spec.deletion_policy, ok)]
    return []


def unchecked(spec: BaseModel, policy: OperatorPolicy, facts: Facts) -> list[str]:
    """The rules skipped for want of a fact (validate says them, so nobody reads silence as approval)."""
    notes = []
    if (isinstance(spec, OrganizationSpec) and spec.access_role is not None
            and ORGANIZATION in policy.access_role.allowed_principals and facts.organization_accounts is None):
        notes.append("accessRole.allowedPrincipals: whether each trusted principal's account is in the organization "
                     "is checked by the operator and by awsorg plan, which read the organization")
    return notes


# ------------------------------------------------------------------------------------------ what a plan would do
# The rules that need what AWS holds (the bucket's retention, where the trail logs, which ids a plan touches) are
# answered on the plan's actions, here and nowhere else: each action names what it changes (and what it replaces).

_NAME_FIELD = {"OrgUnit": "spec.name", "AwsAccount": "spec.email", "ServiceControlPolicy": "spec.name"}


def _protected(policy: OperatorPolicy, resource_id: str) -> str | None:
    ids = policy.protected
    for what, found in (("account", ids.accounts), ("policy", ids.policies), ("OU", ids.org_units)):
        if resource_id in found:
            rule = {"account": "protected.accounts", "policy": "protected.policies", "OU": "protected.orgUnits"}[what]
            return rule
    return None


def _touches(action: Action) -> tuple[str, str] | None:
    """(the AWS id an action changes, what it does to it) for the rules on protected ids; None: none of them."""
    if isinstance(action, MoveAccount):
        return action.account_id, "moved"
    if isinstance(action, CloseAccount):
        return action.account_id, "closed"
    if isinstance(action, RemoveAccount):
        return action.account_id, "removed from the organization"
    if isinstance(action, UntagResource):
        return action.resource_id, "untagged"
    if isinstance(action, TagResource) and not action.resource_id.isdigit():
        return action.resource_id, "retagged"  # an account may be tagged: only untagging it is refused
    if isinstance(action, (UpdatePolicy, DetachPolicy, DeletePolicy)):
        return action.policy_id, "changed"
    if isinstance(action, AttachPolicy) and action.policy_id is not None:
        return action.policy_id, "attached"
    if isinstance(action, (RenameOU, DeleteOU)):
        return action.ou_id, "renamed" if isinstance(action, RenameOU) else "deleted"
    return None


def removes_an_account(actions: Sequence[Action]) -> bool:
    """Whether the actions close an account or remove one from the organization (the delegated administrators
    are then read, afresh)."""
    return any(isinstance(a, (CloseAccount, RemoveAccount)) for a in actions)


def forbidden_actions(kind: str, actions: Sequence[Action], policy: OperatorPolicy, facts: Facts, *,
                      adopted: str | None = None, tags: Mapping[str, str] | None = None,
                      correcting: bool = False) -> list[Refusal]:
    """Every rule of ``policy`` that the ``actions`` a plan would carry out break (empty: allowed).

    ``adopted``: the AWS id the plan adopts (found in AWS, not made or bound by this object), whose ``tags`` were
    read for the ownership rule. ``correcting``: the object's spec was applied before, so the plan puts AWS back to
    it (drift): putting back a retention or a trail's bucket that was changed by hand lowers or re-points nothing
    the spec had not asked for."""
    found: list[Refusal] = []
    seen: set[tuple[str, str]] = set()

    def add(refusal: Refusal) -> None:
        if (refusal.rule, refusal.message) not in seen:
            seen.add((refusal.rule, refusal.message))
            found.append(refusal)

    if adopted is not None and kind in _NAME_FIELD:
        rule = _protected(policy, adopted)
        if rule is not None and rule != "protected.accounts":
            add(Refusal(rule, _NAME_FIELD[kind], f"{adopted} is protected by the administrator's policy: it is never "
                        "adopted or changed from Git; declare another name"))
        wanted = policy.adoption.require_tag
        if wanted and not all((tags or {}).get(k) == v for k, v in wanted.items()):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(wanted.items()))
            add(Refusal("adoption.requireTag", _NAME_FIELD[kind],
                        f"{adopted} exists in AWS and was not made by the operator; it is adopted only if it carries "
                        f"the tag {shown} (it has {_list(tuple(f'{k}={v}' for k, v in sorted((tags or {}).items())))})"
                        "; tag it in AWS to hand it to Git, or declare another name"))
    for action in actions:
        touched = _touches(action)
        if touched is not None:
            rule = _protected(policy, touched[0])
            if rule is not None:
                add(Refusal(rule, "spec", f"{touched[0]} is protected by the administrator's policy and is never "
                            f"{touched[1]} by the operator ({action.describe()})"))
        if isinstance(action, (CloseAccount, RemoveAccount)):
            what = "Close" if isinstance(action, CloseAccount) else "RemoveFromOrganization"
            allowed = policy.deletion.aws_account
            if what not in allowed:
                add(_deletion("deletion.awsAccount", what, allowed))
            why = None
            if action.account_id == facts.management_account_id:
                why = "it is the management account"
            elif action.account_id in (facts.log_archive_account_id, policy.central_logging.log_archive_account_id):
                why = "it is the log archive (closing it destroys the evidence)"
            elif action.account_id in facts.delegated_administrators:
                why = "it is a delegated administrator"
            if why:
                add(Refusal("deletion.awsAccount", "spec.deletionPolicy",
                            f"{what} is never allowed for account {action.account_id}: {why}; use Retain"))
        elif isinstance(action, DeleteOU) and "Delete" not in policy.deletion.org_unit:
            add(_deletion("deletion.orgUnit", "Delete", policy.deletion.org_unit))
        elif isinstance(action, DeletePolicy) and "Delete" not in policy.deletion.service_control_policy:
            add(_deletion("deletion.serviceControlPolicy", "Delete", policy.deletion.service_control_policy))
        elif isinstance(action, DeregisterDelegatedAdministrator):
            kept = policy.services.protected_delegations.get(action.service_principal, ())
            if action.account_id in kept:
                add(Refusal("services.protectedDelegations", "spec.delegatedAdministrators",
                            f"account {action.account_id} is the protected delegated administrator of "
                            f"{action.service_principal!r} and is never deregistered"))
        elif isinstance(action, PutLogBucketRetention) and not correcting:
            lowered = (action.existing and action.days is not None
                       and (action.previous_days is None or action.days < action.previous_days))
            if lowered and not policy.central_logging.allow_retention_decrease:
                before = "kept forever" if action.previous_days is None else f"{action.previous_days} days"
                add(Refusal("centralLogging.allowRetentionDecrease", "spec.centralLogging.retentionDays",
                            f"{action.days} days would lower the retention of log bucket {action.bucket!r} (now "
                            f"{before}): its lifecycle would expire logs already written; allowed: "
                            f"{action.previous_days or 'no'} days or more, or no retentionDays (kept forever)"))
        elif isinstance(action, PutOrganizationTrail) and not correcting:
            moved = action.exists and action.previous_bucket is not None and action.previous_bucket != action.bucket
            if moved and not policy.central_logging.allow_repoint:
                add(Refusal("centralLogging.allowRepoint", "spec.centralLogging.bucketName",
                            f"the organization trail {action.name!r} logs into bucket {action.previous_bucket!r}; "
                            f"re-pointing it to {action.bucket!r} would send the evidence elsewhere; allowed: "
                            f"{action.previous_bucket!r} (the log archive's bucket as it is)"))
        elif isinstance(action, PutConfigRecorder) and not correcting:
            moved = action.previous_bucket is not None and action.previous_bucket != action.bucket
            if moved and not policy.central_logging.allow_repoint:
                add(Refusal("centralLogging.allowRepoint", "spec.centralLogging.bucketName",
                            f"AWS Config in account {action.account_id} ({action.region}) delivers into bucket "
                            f"{action.previous_bucket!r}; re-pointing it to {action.bucket!r} would send the "
                            f"evidence elsewhere; allowed: {action.previous_bucket!r}, or the administrator's "
                            "centralLogging.allowRepoint: true"))
    return found
