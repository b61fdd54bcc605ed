"""Plan the Organization: desired settings + observed organization -> actions. Pure: no I/O, no AWS, no kopf.

Order as a person would do it by hand: all features first (nothing else is possible without them), then
policy types, trusted access, and only then delegated administrators (AWS refuses one for a service
without trusted access). Deregistrations come before registrations, so that moving a service's
administrator to another account works for services that allow only one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from controller.api import limits
from controller.planner.access_role import DesiredAccessRole, check_access_role, plan_account
from controller.planner.actions import (
    Action,
    Blocked,
    DeregisterDelegatedAdministrator,
    Difference,
    DisablePolicyType,
    EnableAllFeatures,
    EnablePolicyType,
    EnableServiceAccess,
    FinalizeAllFeatures,
    Plan,
    RegisterDelegatedAdministrator,
)
from controller.planner.central_logging import DesiredLogging, ObservedLogging, check_logging, plan_logging
from controller.planner.root_access import DesiredRootAccess, plan_root_access
from controller.state import MemberAccess, MemberRootCredentials, ObservedHandshake, OrgSnapshot

ALL = "ALL"

DELEGATED_ADMIN_PRINCIPALS = limits.DELEGATED_ADMIN_PRINCIPALS


def delegation_problem(service_principal: str) -> str | None:
    """Why a delegated administrator cannot be registered for this service principal (None: it can)."""
    if service_principal in DELEGATED_ADMIN_PRINCIPALS:
        return None
    return (f"{service_principal!r} does not support a delegated administrator (AWS answers "
            "RegisterDelegatedAdministrator with UNRECOGNIZED_SERVICE_PRINCIPAL); allowed: "
            + ", ".join(sorted(DELEGATED_ADMIN_PRINCIPALS)))


@dataclass(frozen=True)
class DesiredAdmin:
    account_id: str
    service_principal: str
    field: str  # spec.delegatedAdministrators[0] (AwsAccount 'shared-services')


@dataclass(frozen=True)
class DesiredOrganization:
    """The spec, references resolved. ``policy_types`` None: policy types are not managed."""

    object_name: str
    feature_set: str = ALL
    policy_types: frozenset[str] | None = None
    trusted_services: tuple[str, ...] = ()
    admins: tuple[DesiredAdmin, ...] = ()
    observe_only: bool = False
    access_role: DesiredAccessRole | None = None
    logging: DesiredLogging | None = None  # spec.centralLogging, the log archive account resolved
    root_access: DesiredRootAccess | None = None  # spec.rootAccess

    @property
    def admin_principals(self) -> tuple[str, ...]:
        return tuple(sorted({a.service_principal for a in self.admins}))


@dataclass(frozen=True)
class ObservedOrganization:
    """``trusted`` and ``admins`` are None when not read (the organization has no all features yet);
    ``admins``: service principal -> the accounts registered for it (for the principals the spec names).
    ``needed_types``: the policy types ServiceControlPolicy objects declare (never disabled)."""

    snapshot: OrgSnapshot
    handshakes: tuple[ObservedHandshake, ...] = ()
    trusted: frozenset[str] | None = None
    admins: Mapping[str, frozenset[str]] | None = None
    needed_types: frozenset[str] = frozenset()
    # The access role: what each ACTIVE member account holds (None: not looked at yet; the whole mapping None:
    # member accounts cannot be reached, as in a dry run), the role the operator assumes there, and the accounts
    # that were compliant when last seen.
    access: Mapping[str, MemberAccess | None] | None = None
    member_role: str = "OrganizationAccountAccessRole"
    compliant_before: frozenset[str] = frozenset()
    logging: ObservedLogging | None = None  # None: not read (central logging not declared, or not reachable)
    # Centralized root access: IAM's enabled features (None: not read, as while IAM has no trusted access), and
    # each ACTIVE member account's root user as last read (None: not looked at yet; the mapping None: not read).
    root_features: frozenset[str] | None = None
    root_credentials: Mapping[str, MemberRootCredentials | None] | None = None


@dataclass(frozen=True)
class _Parts:
    actions: list[Action] = field(default_factory=list)
    diffs: list[Difference] = field(default_factory=list)


def describe_account(snapshot: OrgSnapshot, account_id: str) -> str:
    acct = snapshot.accounts.get(account_id)
    return f"account {acct.name!r} ({account_id})" if acct else f"account {account_id}"


def open_handshake(observed: ObservedOrganization, action: str) -> ObservedHandshake | None:
    return next((h for h in observed.handshakes if h.action == action and h.state in ("OPEN", "REQUESTED")), None)


def plan_organization(desired: DesiredOrganization, observed: ObservedOrganization) -> Plan:
    snapshot = observed.snapshot
    org_id = snapshot.organization_id
    if snapshot.feature_set != ALL:
        if desired.feature_set != ALL:  # consolidated billing, as declared: only the access role can be declared
            return _with_access_role(desired, observed, _Parts())
        return _plan_all_features(desired, observed)
    if desired.feature_set != ALL:
        return Plan(
            blocked=Blocked("ImmutableField", "spec.featureSet: the organization has all features and AWS cannot "
                            "return an organization to consolidated billing only; set featureSet: ALL",
                            retry=False),
            resource_id=org_id,
        )
    blocked = _check_admins(desired, snapshot)
    if blocked is not None:
        return Plan(blocked=blocked, resource_id=org_id)
    parts = _Parts()
    _plan_policy_types(desired, snapshot, observed.needed_types, parts)
    _plan_trusted(desired, observed, parts)
    _plan_admins(desired, observed, parts)
    # After trusted access for iam.amazonaws.com, which IAM needs first; not planned when IAM could not be asked
    # (None: a dry run without IAM in the management account).
    if desired.root_access is not None and observed.root_features is not None:
        root = plan_root_access(desired.root_access, observed.root_features)
        parts.actions.extend(root.actions)
        parts.diffs.extend(root.differences)
    return _with_access_role(desired, observed, parts)


def _with_access_role(desired: DesiredOrganization, observed: ObservedOrganization, parts: _Parts) -> Plan:
    """The access role in every member account, after the organization's own settings (it needs none of them);
    then central logging, which needs trusted access and Config's delegated administrator planned before it."""
    org_id = observed.snapshot.organization_id
    fresh: list[Action] = []
    if desired.logging is not None:
        admins = frozenset(a.account_id for a in desired.admins if a.service_principal == "config.amazonaws.com")
        refusal = check_logging(desired.logging, desired.trusted_services, admins,
                                observed.snapshot.management_account_id)
        if refusal is not None:
            return Plan(blocked=Blocked("InvalidSpec", refusal, retry=False), resource_id=org_id)
    if desired.access_role is not None:
        role = dataclasses.replace(desired.access_role, via_role=observed.member_role)
        refusal = check_access_role(role)
        if refusal is not None:
            return Plan(blocked=Blocked("InvalidSpec", refusal, retry=False), resource_id=org_id)
        for account_id, access in sorted((observed.access or {}).items()):
            if access is None:
                continue
            account = plan_account(role, access, was_compliant=account_id in observed.compliant_before)
            parts.actions.extend(account.actions)
            parts.diffs.extend(account.differences)
            fresh.extend(account.fresh)
    if desired.logging is not None and observed.logging is not None:
        logging = plan_logging(desired.logging, observed.logging)
        if logging.blocked is not None:
            return Plan(blocked=logging.blocked, resource_id=org_id)
        parts.actions.extend(logging.actions)
        parts.diffs.extend(logging.differences)
        fresh.extend(logging.fresh)
    if desired.observe_only:
        return Plan(differences=tuple(parts.diffs), resource_id=org_id)
    return Plan(actions=tuple(parts.actions), differences=tuple(parts.diffs), resource_id=org_id, fresh=tuple(fresh))


def _plan_all_features(desired: DesiredOrganization, observed: ObservedOrganization) -> Plan:
    org_id = observed.snapshot.organization_id
    diffs = (Difference("featureSet", ALL, observed.snapshot.feature_set),)
    if desired.observe_only:
        return Plan(differences=diffs, resource_id=org_id)
    approve = open_handshake(observed, "APPROVE_ALL_FEATURES")
    if approve is not None:  # every invited member account approved: the management account finalizes
        return Plan(actions=(FinalizeAllFeatures(approve.id),), differences=diffs, resource_id=org_id)
    started = open_handshake(observed, "ENABLE_ALL_FEATURES")
    if started is not None:
        return Plan(
            blocked=Blocked(
                "WaitingForAllFeatures",
                f"the EnableAllFeatures handshake {started.id} waits for every invited member account to approve "
                "it (an administrator of each accepts it in AWS Organizations); the operator then finalizes it. "
                "Policy types, trusted access and delegated administrators follow",
            ),
            differences=diffs,
            resource_id=org_id,
        )
    return Plan(actions=(EnableAllFeatures(),), differences=diffs, resource_id=org_id)


def _check_admins(desired: DesiredOrganization, snapshot: OrgSnapshot) -> Blocked | None:
    problems = []
    for admin in desired.admins:
        if admin.account_id == snapshot.management_account_id:
            problems.append(f"{admin.field}: {admin.account_id} is the management account, which AWS never accepts "
                            "as a delegated administrator; name a member account")
        elif admin.account_id not in snapshot.accounts:
            problems.append(f"{admin.field}: account {admin.account_id} is not a member of this organization")
    if not problems:
        return None
    return Blocked("InvalidSpec", "; ".join(problems), retry=False)


def _plan_policy_types(desired: DesiredOrganization, snapshot: OrgSnapshot, needed: frozenset[str],
                       parts: _Parts) -> None:
    if desired.policy_types is None:
        return
    enabled = snapshot.enabled_policy_types
    missing = sorted(desired.policy_types - enabled)
    kept: list[str] = []
    disable: list[str] = []
    for ptype in sorted(enabled - desired.policy_types - needed):
        attached = sorted(p.name for p in snapshot.policies.values()
                          if p.type == ptype and not p.aws_managed and p.target_ids)
        if attached:  # disabling would detach them: reported, left enabled
            kept.append(f"{ptype} (kept: {', '.join(attached[:3])}{' ...' if len(attached) > 3 else ''} attached)")
        else:
            disable.append(ptype)
    if missing or kept or disable:
        wanted = sorted(desired.policy_types | (needed & enabled))
        parts.diffs.append(Difference("policyTypes", ", ".join(wanted), ", ".join(sorted(enabled)) +
                                      (f"; {'; '.join(kept)}" if kept else "")))
    parts.actions.extend(EnablePolicyType(snapshot.root_id, t) for t in missing)
    parts.actions.extend(DisablePolicyType(snapshot.root_id, t) for t in disable)


def _plan_trusted(desired: DesiredOrganization, observed: ObservedOrganization, parts: _Parts) -> None:
    actual = observed.trusted if observed.trusted is not None else frozenset()
    missing = [s for s in dict.fromkeys(desired.trusted_services) if s not in actual]
    if missing:
        parts.diffs.append(Difference("trustedServices", ", ".join(sorted(desired.trusted_services)),
                                      ", ".join(sorted(actual & set(desired.trusted_services))) or None))
    parts.actions.extend(EnableServiceAccess(s) for s in missing)


def _plan_admins(desired: DesiredOrganization, observed: ObservedOrganization, parts: _Parts) -> None:
    snapshot = observed.snapshot
    registered = observed.admins or {}
    deregister: list[Action] = []
    register: list[Action] = []
    for principal in desired.admin_principals:
        wanted = {a.account_id for a in desired.admins if a.service_principal == principal}
        actual = registered.get(principal, frozenset())
        if wanted == actual:
            continue
        parts.diffs.append(Difference(f"delegatedAdministrators[{principal}]", ", ".join(sorted(wanted)),
                                      ", ".join(sorted(actual)) or None))
        deregister += [DeregisterDelegatedAdministrator(a, principal, describe_account(snapshot, a))
                       for a in sorted(actual - wanted)]
        register += [RegisterDelegatedAdministrator(a, principal, describe_account(snapshot, a))
                     for a in sorted(wanted - actual)]
    parts.actions.extend(deregister + register)


def plan_organization_delete(desired: DesiredOrganization | None, observed: ObservedOrganization | None,
                             *, retain: bool) -> Plan:
    """Delete is conservative: only the delegated administrators this object declares are deregistered.
    Trusted access is never disabled (AWS warns it breaks the services using it) and policy types are left
    enabled (disabling detaches every policy of the type, which ServiceControlPolicy objects may need)."""
    if retain or desired is None or observed is None:
        return Plan(resource_id=observed.snapshot.organization_id if observed else None)
    registered = observed.admins or {}
    actions: list[Action] = [
        DeregisterDelegatedAdministrator(a.account_id, a.service_principal,
                                         describe_account(observed.snapshot, a.account_id))
        for a in desired.admins if a.account_id in registered.get(a.service_principal, frozenset())
    ]
    return Plan(actions=tuple(actions), resource_id=observed.snapshot.organization_id)
