"""Organization: the adapter of the reconcile engine for the organization's own settings (one object).

What lives in AWS Organizations itself is reconciled: all features, policy types, trusted access and
delegated administrators; and ``accessRole``, in every ACTIVE member account (created, adopted, or joined
later: every account of the snapshot but the management account), through the role the operator assumes
there. ``centralLogging`` (S3, CloudTrail, Config) is accepted but not reconciled by this version: the
``Baseline`` condition says so.

Each member account's role is read (AssumeRole once an hour, GetRole, ListAttachedRolePolicies) when the
spec changed, when the account is new to the operator or not compliant, and otherwise once every 10 resyncs
(the account's turn: its id modulo 10), like tags. Those calls go to STS and IAM, not to AWS Organizations.

The observation reads, each time the object is compared (every resync): the shared snapshot (feature
set, policy types, policies: no extra call), ListAWSServiceAccessForOrganization (one call) and
ListDelegatedAdministrators once per service principal the spec names; ListHandshakesForOrganization
only while the organization lacks all features.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from controller.api.models import ORGANIZATION_NAME, OrganizationSpec
from controller.planner.access_role import DesiredAccessRole, Verdict, verdict
from controller.planner.actions import Plan
from controller.planner.organization import (
    ALL,
    DesiredAdmin,
    DesiredOrganization,
    ObservedOrganization,
    delegation_problem,
    plan_organization,
    plan_organization_delete,
)
from controller.reconciler.base import ObjectView
from controller.reconciler.engine import Adapter, Context, Reference
from controller.reconciler.inventory import TAG_SPREAD
from controller.reconciler.policy import KIND as POLICY_KIND
from controller.reconciler.policy import policy_type_of_claim
from controller.state import MemberAccess, ObservedHandshake, OrgSnapshot


def member_accounts(snapshot: OrgSnapshot) -> list[str]:
    """The accounts that get the baseline: every ACTIVE account of the organization but the management account."""
    return sorted(a.id for a in snapshot.accounts.values()
                  if a.state == "ACTIVE" and a.id != snapshot.management_account_id)

KIND = "Organization"
ROLE_READS = "Organization/accessRole"  # the inventory's key for claiming one read per account and resync


class OrganizationAdapter(Adapter[OrganizationSpec, DesiredOrganization, ObservedOrganization]):
    kind = KIND
    noun = "organization"
    model = OrganizationSpec
    default_deletion = "Retain"

    def check(self, name: str, spec: OrganizationSpec, status: Mapping[str, Any]) -> str | None:
        if name != ORGANIZATION_NAME:
            return (f"metadata.name: the Organization is a singleton and must be named {ORGANIZATION_NAME!r}, not "
                    f"{name!r}; this object is not acted on. Put its settings into Organization "
                    f"{ORGANIZATION_NAME!r} and delete this one")
        problems = []
        if spec.feature_set != ALL:
            declared = [f for f, v in (("spec.policyTypes", spec.policy_types), ("spec.trustedServices",
                                       spec.trusted_services), ("spec.delegatedAdministrators",
                                       spec.delegated_administrators)) if v]
            if declared:
                problems.append(f"{', '.join(declared)}: need featureSet ALL (AWS allows them only in an "
                                "organization with all features)")
        trusted = set(spec.trusted_services)
        for i, admin in enumerate(spec.delegated_administrators):
            unsupported = delegation_problem(admin.service_principal)
            if unsupported is not None:
                problems.append(f"spec.delegatedAdministrators[{i}].servicePrincipal: {unsupported}")
            elif admin.service_principal not in trusted:
                problems.append(f"spec.delegatedAdministrators[{i}].servicePrincipal: {admin.service_principal!r} "
                                "is not in spec.trustedServices; AWS registers a delegated administrator only for "
                                "a service with trusted access, so add it there")
        return f"{KIND} {name!r} is invalid: " + "; ".join(problems) if problems else None

    def conditions(self, spec: OrganizationSpec) -> Sequence[tuple[str, bool, str, str]]:
        if spec.central_logging is not None:
            also = (" spec.accessRole is reconciled: see status.baseline and each AwsAccount's Baselined condition."
                    if spec.access_role is not None else "")
            return [("Baseline", False, "NotReconciled",
                     "spec.centralLogging is accepted but not reconciled by this version of the operator: no log "
                     "bucket, organization trail, AWS Config recorder or aggregator is created or checked." + also)]
        if spec.access_role is None:
            return [("Baseline", True, "NothingDeclared", "neither centralLogging nor accessRole is declared")]
        return ()  # from what the member accounts hold: observed_conditions

    def references(self, spec: OrganizationSpec) -> Sequence[Reference]:
        return [Reference("AwsAccount", a.account_ref.name, f"spec.delegatedAdministrators[{i}].accountRef")
                for i, a in enumerate(spec.delegated_administrators) if a.account_ref is not None]

    def desired(self, name: str, spec: OrganizationSpec, resolved: Mapping[Reference, str]) -> DesiredOrganization:
        by_field = {ref.field: account_id for ref, account_id in resolved.items()}
        admins = []
        for i, admin in enumerate(spec.delegated_administrators):
            ref_field = f"spec.delegatedAdministrators[{i}].accountRef"
            account_id = by_field.get(ref_field) if admin.account_ref is not None else admin.account_id
            label = (f"{ref_field} (AwsAccount {admin.account_ref.name!r})" if admin.account_ref is not None
                     else f"spec.delegatedAdministrators[{i}].accountId")
            admins.append(DesiredAdmin(account_id or "", admin.service_principal, label))
        return DesiredOrganization(
            object_name=name, feature_set=spec.feature_set,
            policy_types=frozenset(spec.policy_types) if spec.policy_types is not None else None,
            trusted_services=tuple(spec.trusted_services), admins=tuple(admins),
            observe_only=spec.management_policy == "Observe",
            access_role=DesiredAccessRole(spec.access_role.role_name, tuple(spec.access_role.trusted_principals),
                                          tuple(spec.access_role.managed_policy_arns))
            if spec.access_role is not None else None,
            central_logging=spec.central_logging is not None,
        )

    def observe(self, ctx: Context, desired: DesiredOrganization, view: ObjectView) -> ObservedOrganization:
        snapshot = ctx.snapshot()
        needed = frozenset(policy_type_of_claim(k) for k in ctx.refs.claim_keys(POLICY_KIND)) if ctx.refs else (
            frozenset())
        if snapshot.feature_set != ALL:
            handshakes: tuple[ObservedHandshake, ...] = ()
            if desired.feature_set == ALL:
                handshakes = tuple(h for action in ("ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES")
                                   for h in ctx.gateway.list_handshakes(action))
            return self._with_access(ctx, desired, view, ObservedOrganization(snapshot, handshakes, None, None, needed))
        trusted = ctx.gateway.list_trusted_services()
        admins = {p: ctx.gateway.list_delegated_administrators(p) for p in desired.admin_principals}
        return self._with_access(ctx, desired, view, ObservedOrganization(snapshot, (), trusted, admins, needed))

    def _with_access(self, ctx: Context, desired: DesiredOrganization, view: ObjectView,
                     observed: ObservedOrganization) -> ObservedOrganization:
        members = ctx.gateway.members
        role = desired.access_role
        if role is None or members is None:
            return observed
        everything = view.trigger in ("change", "event") or view.spec_changed
        epoch = int(ctx.clock() // ctx.settings.resync_seconds)
        access: dict[str, MemberAccess | None] = {}
        compliant: set[str] = set()
        # The accounts that have had their baseline: as this process saw them, and (after a restart) as the status
        # it wrote says. A role gone from one of them is drift; from any other account, new work.
        ctx.inventory.remember_baselined((view.status.get("baseline") or {}).get("baselinedAccounts") or ())
        compliant.update(ctx.inventory.baselined())
        for account_id in member_accounts(observed.snapshot):
            known = members.known(account_id)
            settled = known is not None and verdict(role, account_id, known).state == "compliant"
            due = everything or not settled or (
                epoch % TAG_SPREAD == int(account_id) % TAG_SPREAD
                and ctx.inventory.claim_tag_read(ROLE_READS, account_id, epoch))
            if role.role_name == members.role_name:
                due = False  # refused by the plan; never read or touched
            access[account_id] = members.read_role(account_id, role.role_name) if due else known
        return dataclasses.replace(observed, access=access, member_role=members.role_name,
                                   compliant_before=frozenset(compliant))

    def plan(self, desired: DesiredOrganization, observed: ObservedOrganization) -> Plan:
        return plan_organization(desired, observed)

    def status(self, ctx: Context, desired: DesiredOrganization, resource_id: str | None) -> dict[str, Any]:
        snapshot = ctx.snapshot()
        fields: dict[str, Any] = {"id": snapshot.organization_id, "featureSet": snapshot.feature_set,
                                  "enabledPolicyTypes": sorted(snapshot.enabled_policy_types)}
        if snapshot.organization_arn:
            fields["arn"] = snapshot.organization_arn
        if snapshot.feature_set == ALL:
            fields["allFeaturesHandshakeId"] = None
        trusted = ctx.gateway.known_trusted_services()
        if trusted is not None:
            fields["trustedServices"] = sorted(trusted)
            fields["trustedServicesOutsideGit"] = sorted(trusted - set(desired.trusted_services))
        fields["baseline"] = self._baseline(ctx, desired)
        fields["delegatedAdministrators"] = [
            {"accountId": account_id, "servicePrincipal": principal}
            for principal in desired.admin_principals
            for account_id in sorted(ctx.gateway.known_delegated_administrators(principal) or ())
        ]
        return fields

    def _verdicts(self, ctx: Context, desired: DesiredOrganization) -> dict[str, Verdict] | None:
        members = ctx.gateway.members
        if desired.access_role is None or members is None or desired.access_role.role_name == members.role_name:
            return None
        return {a: verdict(desired.access_role, a, members.known(a)) for a in member_accounts(ctx.snapshot())}

    def _baseline(self, ctx: Context, desired: DesiredOrganization) -> dict[str, Any] | None:
        """status.baseline (the access role part), and each account's verdict for its AwsAccount's Baselined."""
        verdicts = self._verdicts(ctx, desired)
        ctx.inventory.record_baseline(verdicts)
        if verdicts is None:
            return None
        found = list(verdicts.values())
        return {"accounts": len(found), "compliant": sum(v.state == "compliant" for v in found),
                "pending": sum(v.state == "pending" for v in found),
                "failed": [{"account": v.account_id, "reason": f"{v.reason}: {v.message}"}
                           for v in found if v.state == "failed"],
                "baselinedAccounts": sorted(ctx.inventory.baselined() & set(verdicts))}

    def observed_conditions(self, ctx: Context, desired: DesiredOrganization,
                            resource_id: str | None) -> Sequence[tuple[str, bool, str, str]]:
        verdicts = self._verdicts(ctx, desired)
        if verdicts is None or desired.central_logging:
            return ()  # NothingDeclared / NotReconciled: from the spec alone
        found = list(verdicts.values())
        failed = [v for v in found if v.state == "failed"]
        pending = [v for v in found if v.state == "pending"]
        if not failed and not pending:
            return [("Baseline", True, "Compliant", f"the access role is as declared in all {len(found)} member "
                     "accounts")]
        shown = "; ".join(f"{v.account_id}: {v.reason}" for v in (failed + pending)[:5])
        reason = "BaselineFailed" if failed else "WaitingForAccountAccess"
        return [("Baseline", False, reason, f"{len(found) - len(failed) - len(pending)} of {len(found)} member "
                 f"accounts compliant, {len(pending)} pending, {len(failed)} failed ({shown}"
                 f"{' ...' if len(failed) + len(pending) > 5 else ''}); see status.baseline")]

    def adopted(self, desired: DesiredOrganization, resource_id: str) -> str:
        return f"bound to organization {resource_id}"

    def plan_delete(self, ctx: Context, spec: OrganizationSpec | None, view: ObjectView, retain: bool) -> Plan:
        if retain or spec is None or not spec.delegated_administrators or view.name != ORGANIZATION_NAME:
            return Plan(resource_id=view.status.get("id"))
        resolved: dict[Reference, str] = {}
        for ref in self.references(spec):
            state = ctx.refs.get(ref.kind, ref.name) if ctx.refs else None
            if state is not None and state.id:
                resolved[ref] = state.id
        desired = self.desired(view.name, spec, resolved)
        desired = DesiredOrganization(desired.object_name, admins=tuple(a for a in desired.admins if a.account_id))
        snapshot = ctx.snapshot()
        admins = {p: ctx.gateway.list_delegated_administrators(p) for p in desired.admin_principals}
        return plan_organization_delete(desired, ObservedOrganization(snapshot, admins=admins), retain=False)
