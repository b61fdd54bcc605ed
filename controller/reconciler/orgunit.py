"""OrgUnit: the adapter of the reconcile engine for OUs (desired state, observation, plan, status)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controller.api.models import OrgUnitSpec, OrgUnitStatus
from controller.aws.gateway import Knowledge
from controller.planner import claims
from controller.planner.actions import Blocked, Plan
from controller.planner.orgunit import DesiredOU, plan_orgunit, plan_orgunit_delete
from controller.reconciler.base import ObjectView
from controller.reconciler.engine import TAGS, Adapter, Context, Done, Reference, Report
from controller.reconciler.status import binding_of
from controller.state import OrgSnapshot

KIND = "OrgUnit"


@dataclass(frozen=True)
class ObservedOUState:
    snapshot: OrgSnapshot
    known_id: str | None
    tags: Mapping[str, str] | None


class OrgUnitAdapter(Adapter[OrgUnitSpec, DesiredOU, ObservedOUState]):
    kind = KIND
    noun = "OU"
    model = OrgUnitSpec
    default_deletion = "Delete"

    def references(self, spec: OrgUnitSpec) -> Sequence[Reference]:
        return [Reference(KIND, spec.parent_ref.name, "spec.parentRef")] if spec.parent_ref else []

    def claim_key(self, name: str, spec: OrgUnitSpec) -> str:
        return claims.orgunit_key(spec.name or name, spec.parent_ref.name if spec.parent_ref else None,
                                  spec.parent_id)

    def claim_refused(self, name: str, spec: OrgUnitSpec, owner: str) -> Blocked:
        parent = claims.orgunit_parent(spec.parent_ref.name if spec.parent_ref else None, spec.parent_id)[1]
        return Blocked("DuplicateName", f"spec.name: an OU named {spec.name or name!r} under {parent} is already "
                       f"declared by OrgUnit {owner!r}; OU names are unique under a parent, so this object is not "
                       "acted on. Give it another spec.name, or delete it")

    def desired(self, name: str, spec: OrgUnitSpec, resolved: Mapping[Reference, str]) -> DesiredOU:
        parent_id = next(iter(resolved.values()), None) or spec.parent_id
        return DesiredOU(object_name=name, name=spec.name or name, parent_id=parent_id, tags=spec.tags,
                         observe_only=spec.management_policy == "Observe")

    def observe(self, ctx: Context, desired: DesiredOU, view: ObjectView) -> ObservedOUState:
        snapshot = ctx.snapshot()
        known_id = binding_of(view.status).id
        candidate = known_id if known_id in snapshot.ous else None
        if candidate is None:
            found = snapshot.ou_named(desired.parent_id or snapshot.root_id, desired.name)
            candidate = found.id if found else None
        tags = None
        if desired.tags is not None and candidate and ctx.due(TAGS, view.name, view):
            tags = ctx.gateway.list_tags(candidate)
        return ObservedOUState(snapshot, known_id, tags)

    def plan(self, desired: DesiredOU, observed: ObservedOUState) -> Plan:
        return plan_orgunit(desired, observed.snapshot, observed.known_id, observed.tags)

    def after(self, desired: DesiredOU, observed: ObservedOUState, done: Done, known: Knowledge) -> ObservedOUState:
        return dataclasses.replace(observed, snapshot=known.snapshot)

    def report(self, desired: DesiredOU, observed: ObservedOUState, done: Done) -> Report:
        snapshot, resource_id = observed.snapshot, done.resource_id
        ou = snapshot.ous.get(resource_id) if resource_id else None
        if ou is None:
            return Report(OrgUnitStatus(id=resource_id) if resource_id else None)
        return Report(OrgUnitStatus(id=ou.id, arn=ou.arn, parent_id=ou.parent_id, path=snapshot.path(ou.id)))

    def adopted(self, desired: DesiredOU, resource_id: str) -> str:
        return f"adopted existing OU {desired.name!r} ({resource_id})"

    def plan_delete(self, ctx: Context, spec: OrgUnitSpec | None, resolved: Mapping[Reference, str],
                    view: ObjectView, retain: bool) -> Plan:
        known_id = binding_of(view.status).id
        snapshot = ctx.snapshot(fresh=bool(known_id) and not retain)  # what the OU holds now, not as last read
        return plan_orgunit_delete(known_id, snapshot, retain=retain)
