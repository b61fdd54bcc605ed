"""Organization: the adapter of the reconcile engine for the organization's own settings (one object).

What lives in AWS Organizations itself is reconciled: all features, policy types, trusted access and
delegated administrators. ``centralLogging`` and ``accessRole`` (S3, CloudTrail, Config, IAM in member
accounts) are accepted but not reconciled by this version: the ``Baseline`` condition says so.

The observation reads, each time the object is compared (every resync): the shared snapshot (feature
set, policy types, policies: no extra call), ListAWSServiceAccessForOrganization (one call) and
ListDelegatedAdministrators once per service principal the spec names; ListHandshakesForOrganization
only while the organization lacks all features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.api.models import ORGANIZATION_NAME, OrganizationSpec
from controller.planner.actions import Plan
from controller.planner.organization import (
    ALL,
    DesiredAdmin,
    DesiredOrganization,
    ObservedOrganization,
    plan_organization,
    plan_organization_delete,
)
from controller.reconciler.base import ObjectView
from controller.reconciler.engine import Adapter, Context, Reference
from controller.reconciler.policy import KIND as POLICY_KIND
from controller.reconciler.policy import policy_type_of_claim
from controller.state import ObservedHandshake

KIND = "Organization"
NOT_RECONCILED = ("spec.centralLogging", "spec.accessRole")


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
            if admin.service_principal not in trusted:
                problems.append(f"spec.delegatedAdministrators[{i}].servicePrincipal: {admin.service_principal!r} "
                                "is not in spec.trustedServices; AWS registers a delegated administrator only for "
                                "a service with trusted access, so add it there")
        return f"{KIND} {name!r} is invalid: " + "; ".join(problems) if problems else None

    def conditions(self, spec: OrganizationSpec) -> Sequence[tuple[str, bool, str, str]]:
        declared = [f for f, v in zip(NOT_RECONCILED, (spec.central_logging, spec.access_role), strict=True) if v]
        if not declared:
            return [("Baseline", True, "NothingDeclared", "neither centralLogging nor accessRole is declared")]
        return [("Baseline", False, "NotReconciled",
                 f"{' and '.join(declared)} are accepted but not reconciled by this version of the operator: no "
                 "log bucket, organization trail, AWS Config recorder or aggregator, and no access role is created "
                 "or checked. Only featureSet, policyTypes, trustedServices and delegatedAdministrators are")]

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
            return ObservedOrganization(snapshot, handshakes, None, None, needed)
        trusted = ctx.gateway.list_trusted_services()
        admins = {p: ctx.gateway.list_delegated_administrators(p) for p in desired.admin_principals}
        return ObservedOrganization(snapshot, (), trusted, admins, needed)

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
        fields["delegatedAdministrators"] = [
            {"accountId": account_id, "servicePrincipal": principal}
            for principal in desired.admin_principals
            for account_id in sorted(ctx.gateway.known_delegated_administrators(principal) or ())
        ]
        return fields

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
