"""ServiceControlPolicy (SCPs and RCPs) and ManagementPolicy: the adapter of the reconcile engine for policies.

Both kinds are one adapter: :class:`ManagementPolicyAdapter` is the SCP adapter with another kind, spec and status
model (its document checked by the management policy syntax in :func:`validate_document`); the planner, the writes
and the engine are the same.

The document is checked before any AWS call (an invalid one is ``InvalidSpec`` and nothing is called).
The observation reads, up front, what the plan's checks need: what is attached to each target the
policy would be attached to or detached from (AWS's limit of 5 per target, and the last SCP of a
target), which the shared snapshot does not hold for AWS-managed policies such as FullAWSAccess.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller.api.models import (
    ManagementPolicySpec,
    ManagementPolicyStatus,
    PolicySpec,
    PolicyStatus,
    ServiceControlPolicySpec,
    ServiceControlPolicyStatus,
)
from controller.aws.gateway import Knowledge
from controller.planner import claims
from controller.planner.actions import Blocked, Plan
from controller.planner.policy import (
    DesiredPolicy,
    PolicyTarget,
    find_policy,
    plan_policy,
    plan_policy_delete,
)
from controller.planner.policy_document import SCP, document_size, minify, validate_document
from controller.reconciler.base import ObjectView
from controller.reconciler.engine import TAGS, Adapter, Context, Done, Reference, Report
from controller.reconciler.status import binding_of
from controller.state import OrgSnapshot

KIND = "ServiceControlPolicy"
MANAGEMENT_KIND = "ManagementPolicy"


@dataclass(frozen=True)
class ObservedPolicyState:
    snapshot: OrgSnapshot
    known_id: str | None
    tags: Mapping[str, str] | None


class ServiceControlPolicyAdapter(Adapter[PolicySpec, DesiredPolicy, ObservedPolicyState]):
    kind = KIND
    noun = "policy"
    model: type[PolicySpec] = ServiceControlPolicySpec
    status_model: type[PolicyStatus] = ServiceControlPolicyStatus
    default_deletion = "Delete"
    serialized = True  # five policies of a type per target: each plan counts what the one before attached

    def check(self, name: str, spec: PolicySpec, status: Mapping[str, Any]) -> str | None:
        problems = validate_document(spec.type, spec.document)
        return f"{self.kind} {name!r} is invalid: " + "; ".join(problems) if problems else None

    def spec_status(self, spec: PolicySpec) -> PolicyStatus | None:
        try:
            return self.status_model(document_size=document_size(spec.document))
        except (TypeError, ValueError):
            return None

    def references(self, spec: PolicySpec) -> Sequence[Reference]:
        refs = [Reference("OrgUnit", r.name, f"spec.targets.orgUnitRefs[{i}]")
                for i, r in enumerate(spec.targets.org_unit_refs)]
        return refs + [Reference("AwsAccount", r.name, f"spec.targets.accountRefs[{i}]")
                       for i, r in enumerate(spec.targets.account_refs)]

    def claim_key(self, name: str, spec: PolicySpec) -> str:
        return claims.policy_key(spec.type, spec.name or name)

    def claim_refused(self, name: str, spec: PolicySpec, owner: str) -> Blocked:
        return Blocked("DuplicateName", f"spec.name: {spec.type} {spec.name or name!r} is already declared by "
                       f"{self.kind} {owner!r}; policy names are unique per type, so this object is not acted on. "
                       "Give it another spec.name")

    def desired(self, name: str, spec: PolicySpec, resolved: Mapping[Reference, str]) -> DesiredPolicy:
        targets = [PolicyTarget(target_id, f"{ref.field} ({ref.kind} {ref.name!r})") for ref, target_id in
                   resolved.items()]
        targets += [PolicyTarget(t, f"spec.targets.ids[{i}]") for i, t in enumerate(spec.targets.ids)]
        return DesiredPolicy(
            object_name=name, name=spec.name or name, type=spec.type, content=minify(spec.document),
            description=spec.description, root=spec.targets.root, targets=tuple(targets), tags=spec.tags,
            observe_only=spec.management_policy == "Observe",
        )

    def observe(self, ctx: Context, desired: DesiredPolicy, view: ObjectView) -> ObservedPolicyState:
        known_id = binding_of(view.status).id
        snapshot = ctx.snapshot()
        if not all(snapshot.target_exists(t.id) for t in desired.targets):
            snapshot = ctx.snapshot(fresh=True)  # a target created since the last read, or really missing
        if desired.type not in snapshot.enabled_policy_types:
            return ObservedPolicyState(snapshot, known_id, None)
        current, _ = find_policy(desired, snapshot, known_id)
        wanted = {t.id for t in desired.targets} | ({snapshot.root_id} if desired.root else set())
        wanted &= {t for t in wanted if snapshot.target_exists(t)}
        actual = set(current.target_ids) if current is not None else set()
        changing = wanted - actual
        if desired.type == SCP:
            changing |= actual - wanted  # AWS forbids detaching a target's last SCP: read what else is there
        if changing and not desired.observe_only:
            for target_id in sorted(changing):
                ctx.gateway.refresh_target_policies(target_id, desired.type)
            snapshot = ctx.snapshot()
        tags = None
        if (desired.tags is not None and current is not None and not current.aws_managed
                and ctx.due(TAGS, view.name, view)):
            tags = ctx.gateway.list_tags(current.id)
        return ObservedPolicyState(snapshot, known_id, tags)

    def plan(self, desired: DesiredPolicy, observed: ObservedPolicyState) -> Plan:
        return plan_policy(desired, observed.snapshot, observed.known_id, observed.tags)

    def after(self, desired: DesiredPolicy, observed: ObservedPolicyState, done: Done,
              known: Knowledge) -> ObservedPolicyState:
        return dataclasses.replace(observed, snapshot=known.snapshot)

    def report(self, desired: DesiredPolicy, observed: ObservedPolicyState, done: Done) -> Report:
        resource_id = done.resource_id
        policy = observed.snapshot.policies.get(resource_id) if resource_id else None
        status = self.status_model(attached_target_ids=[])
        if resource_id:
            status.id = resource_id
        if policy is not None:
            status.arn, status.attached_target_ids = policy.arn, sorted(policy.target_ids)
        return Report(status)

    def adopted(self, desired: DesiredPolicy, resource_id: str) -> str:
        return f"adopted existing {desired.type} {desired.name!r} ({resource_id})"

    def plan_delete(self, ctx: Context, spec: PolicySpec | None, resolved: Mapping[Reference, str],
                    view: ObjectView, retain: bool) -> Plan:
        known_id = None if retain else binding_of(view.status).id
        snapshot = ctx.snapshot(fresh=bool(known_id))
        policy = snapshot.policies.get(known_id) if known_id else None
        if policy is not None and policy.type == SCP:
            # Detaching needs each target's other SCPs (AWS forbids removing the last one): read them there.
            for target_id in sorted(policy.target_ids):
                ctx.gateway.refresh_target_policies(target_id, policy.type)
            snapshot = ctx.snapshot()
        plan = plan_policy_delete(known_id, snapshot, retain=retain)
        return plan if known_id else Plan(resource_id=binding_of(view.status).id)


class ManagementPolicyAdapter(ServiceControlPolicyAdapter):
    """ManagementPolicy: the policy adapter with the management kind's spec and status (one place per write)."""

    kind = MANAGEMENT_KIND
    model = ManagementPolicySpec
    status_model = ManagementPolicyStatus
