"""OrgUnit: observe -> plan -> execute -> status. No kopf here; handlers call this."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from controller.api.models import OrgUnitSpec
from controller.planner.actions import Action, CreateOU, DeleteOU, RenameOU
from controller.planner.orgunit import DesiredOU, plan_orgunit, plan_orgunit_delete
from controller.reconciler.base import ObjectView, Outcome
from controller.reconciler.common import ReconcilerBase, Run, event_reason
from controller.state import ObservedOU

log = logging.getLogger(__name__)

KIND = "OrgUnit"


class OrgUnitReconciler(ReconcilerBase):
    kind = KIND

    # ------------------------------------------------------------------------- reconcile
    def _reconcile(self, obj: ObjectView, run: Run) -> Outcome:
        try:
            spec = OrgUnitSpec.model_validate(dict(obj.spec))
        except ValidationError as exc:
            return run.invalid(exc)

        waiting_for: str | None = None
        parent_id = spec.parent_id
        if spec.parent_ref is not None:
            ref = self.refs.get(KIND, spec.parent_ref.name)
            if ref.id is None or ref.deleting:
                waiting_for = spec.parent_ref.name
            else:
                parent_id = ref.id

        snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
        known_id = obj.status.get("id")
        candidate = known_id if known_id in snapshot.ous else None
        if candidate is None and waiting_for is None:
            found = snapshot.ou_named(parent_id or snapshot.root_id, spec.name or obj.name)
            candidate = found.id if found else None
        actual_tags = None
        if spec.tags is not None and candidate and self._tags_due(obj):
            actual_tags = self.gateway.list_tags(candidate)

        desired = DesiredOU(
            object_name=obj.name,
            name=spec.name or obj.name,
            parent_id=parent_id,
            waiting_for=waiting_for,
            tags=spec.tags,
            observe_only=spec.management_policy == "Observe",
        )
        plan = plan_orgunit(desired, snapshot, known_id, actual_tags)
        if plan.blocked is not None:
            return run.blocked(plan)

        actions = run.filter_drift(plan, observe_only=desired.observe_only)
        created: ObservedOU | None = None
        for action in actions:
            result = self._execute(action)
            if isinstance(result, ObservedOU) and isinstance(action, CreateOU):
                created = result
            run.event("Normal", event_reason(action), action.describe())
        if created is not None:
            ou_id = created.id
        elif plan.resource_id is None:
            # Missing in AWS and not recreated (drift policy report): reported as drift, nothing else.
            return run.synced(plan, {}, corrected=False)
        else:
            ou_id = plan.resource_id
            if plan.adopted:
                run.event("Normal", "Adopted", f"adopted existing OU {desired.name!r} ({ou_id})")

        snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
        ou = snapshot.ous.get(ou_id)
        extra: dict[str, Any] = {"id": ou_id}
        if ou is not None:
            extra.update(arn=ou.arn, parentId=ou.parent_id, path=snapshot.path(ou.id))
        return run.synced(plan, extra, corrected=bool(actions))

    def _execute(self, action: Action) -> object:
        gw = self.gateway
        if isinstance(action, CreateOU):
            return gw.create_ou(action.parent_id, action.name, action.tags)
        if isinstance(action, RenameOU):
            parent = gw.snapshot().ous[action.ou_id].parent_id
            return gw.rename_ou(action.ou_id, action.name, parent)
        if self._execute_tags(action):
            return None
        if isinstance(action, DeleteOU):
            gw.delete_ou(action.ou_id)
            return None
        raise TypeError(f"OrgUnit cannot execute {action!r}")

    # ------------------------------------------------------------------------- delete
    def _delete(self, obj: ObjectView, run: Run) -> Outcome:
        spec_raw = dict(obj.spec)
        retain = spec_raw.get("deletionPolicy", "Delete") == "Retain" or spec_raw.get("managementPolicy") == "Observe"
        known_id = obj.status.get("id")
        snapshot = self.gateway.snapshot(max_age=0 if known_id else self.settings.resync_seconds)
        plan = plan_orgunit_delete(known_id, snapshot, retain=retain)
        if plan.blocked is not None:
            return run.blocked(plan)
        for action in plan.actions:
            self._execute(action)
            run.event("Normal", "Deleted", action.describe())
        if retain and known_id:
            run.event("Normal", "Retained", f"OU {known_id} left in AWS (deletionPolicy Retain)")
        return run.deleted()

