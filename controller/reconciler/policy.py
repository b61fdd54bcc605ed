"""ServiceControlPolicy (SCPs and RCPs): validate -> resolve targets -> observe -> plan -> execute -> status.

The document is validated before any AWS call (an invalid one is ``InvalidSpec`` and nothing is called).
If the policy type is not enabled on the root, it is enabled first (AWS then attaches its default policy,
FullAWSAccess, everywhere, so the organization is read again before planning the attachments).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any

from pydantic import ValidationError

from controller.api.models import PolicyTargets, ServiceControlPolicySpec
from controller.planner.actions import (
    Action,
    AttachPolicy,
    Blocked,
    CreatePolicy,
    DeletePolicy,
    DetachPolicy,
    EnablePolicyType,
    Plan,
    UpdatePolicy,
)
from controller.planner.policy import DesiredPolicy, PolicyTarget, find_policy, plan_policy, plan_policy_delete
from controller.planner.policy_document import SCP, document_size, minify, validate_document
from controller.reconciler.base import EmailClaim, ObjectView, Outcome, claim_owner
from controller.reconciler.common import ReconcilerBase, Run, event_reason
from controller.state import OrgSnapshot

log = logging.getLogger(__name__)

KIND = "ServiceControlPolicy"
# Refusals computed from the shared snapshot: confirmed against a fresh read before they are reported.
_CONFIRM = frozenset({"LimitExceeded", "LastPolicyOnTarget", "TargetNotFound"})
_DEFAULT_POLICY = {"SERVICE_CONTROL_POLICY": "FullAWSAccess", "RESOURCE_CONTROL_POLICY": "RCPFullAWSAccess"}


class ServiceControlPolicyReconciler(ReconcilerBase):
    kind = KIND

    # ------------------------------------------------------------------------- reconcile
    def _reconcile(self, obj: ObjectView, run: Run) -> Outcome:
        try:
            spec = ServiceControlPolicySpec.model_validate(dict(obj.spec))
        except ValidationError as exc:
            return run.invalid(exc)
        problems = validate_document(spec.type, spec.document)
        if problems:
            with contextlib.suppress(TypeError, ValueError):
                run.status["documentSize"] = document_size(spec.document)
            return run.invalid_message(f"{KIND} {obj.name!r} is invalid: " + "; ".join(problems))

        targets, waiting_for = self._resolve(spec.targets)
        desired = DesiredPolicy(
            object_name=obj.name,
            name=spec.name or obj.name,
            type=spec.type,
            content=minify(spec.document),
            description=spec.description,
            root=spec.targets.root,
            targets=targets,
            waiting_for=waiting_for,
            tags=spec.tags,
            observe_only=spec.management_policy == "Observe",
        )
        known_id = obj.status.get("id")
        if not known_id:
            # Policy names are unique per type in AWS: two objects declaring one would fight over it.
            claims = self.refs.policy_claims(desired.type, desired.name)
            indexed = next((c for c in claims if c.name == obj.name), EmailClaim(obj.name))
            owner = claim_owner(EmailClaim(obj.name, created=indexed.created), claims)
            if owner is not None:
                return run.blocked(Plan(blocked=Blocked(
                    "DuplicateName",
                    f"spec.name: {desired.type} {desired.name!r} is already declared by {KIND} {owner!r}; policy "
                    "names are unique per type, so this object is not acted on. Give it another spec.name",
                )))
        tags_read: dict[str, dict[str, str]] = {}
        snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
        plan = self._plan(obj, desired, snapshot, known_id, tags_read)

        if plan.actions and isinstance(plan.actions[0], EnablePolicyType):
            enable = plan.actions[0]
            if plan.differences and (run.spec_applied and self.settings.drift_policy == "report"):
                run.filter_drift(plan, observe_only=False)  # disabled outside Git: report only
                return run.synced(plan, {}, corrected=False)
            if self.gateway.enable_policy_type(enable.root_id, enable.policy_type):
                run.event("Normal", "PolicyTypeEnabled",
                          f"enabled {enable.policy_type} on the root {enable.root_id}; AWS attached "
                          f"{_DEFAULT_POLICY.get(enable.policy_type, 'its default policy')} to the root and every OU "
                          "and account")
            snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)  # re-read after enabling
            again = self._plan(obj, desired, snapshot, known_id, tags_read)
            if again.actions and isinstance(again.actions[0], EnablePolicyType):
                return run.blocked(Plan(
                    blocked=Blocked("PolicyTypeNotEnabled",
                                    f"{desired.type} is being enabled on the root {enable.root_id}; waiting for AWS"),
                    resource_id=known_id,
                ))
            plan = dataclasses.replace(again, differences=plan.differences + again.differences)

        if plan.blocked is not None and plan.blocked.reason in _CONFIRM:
            snapshot = self.gateway.snapshot(max_age=0)
            plan = self._plan(obj, desired, snapshot, known_id, tags_read)
        attaching = sorted({a.target_id for a in plan.actions if isinstance(a, AttachPolicy)})
        if attaching and plan.blocked is None:
            # The snapshot does not list AWS-managed policies' targets (FullAWSAccess is everywhere): read what
            # is on each target about to get this policy, so that AWS's limit of 5 is checked here, in words.
            for target_id in attaching:
                self.gateway.refresh_target_policies(target_id, desired.type)
            snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
            plan = self._plan(obj, desired, snapshot, known_id, tags_read)
        detaching = sorted({a.target_id for a in plan.actions if isinstance(a, DetachPolicy)})
        if detaching and desired.type == SCP and plan.blocked is None:
            # AWS forbids detaching a target's last SCP: check what is attached there now, not as last read.
            for target_id in detaching:
                self.gateway.refresh_target_policies(target_id, desired.type)
            snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
            plan = self._plan(obj, desired, snapshot, known_id, tags_read)
        if plan.blocked is not None:
            return run.blocked(plan)

        actions = run.filter_drift(plan, observe_only=desired.observe_only)
        policy_id = plan.resource_id
        for action in actions:
            created = self._execute(action, policy_id)
            if created is not None:
                policy_id = created
            run.event("Normal", event_reason(action), action.describe())
        if plan.adopted:
            run.event("Normal", "Adopted", f"adopted existing {desired.type} {desired.name!r} ({policy_id})")

        snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
        # No policy id: it is missing in AWS and only reported (drift policy report), not recreated.
        policy_id = policy_id or known_id
        extra: dict[str, Any] = {"id": policy_id, "documentSize": len(desired.content), "attachedTargetIds": []}
        policy = snapshot.policies.get(policy_id) if policy_id else None
        if policy is not None:
            extra.update(arn=policy.arn, attachedTargetIds=sorted(policy.target_ids))
        return run.synced(plan, extra, corrected=bool(actions))

    def _plan(self, obj: ObjectView, desired: DesiredPolicy, snapshot: OrgSnapshot, known_id: str | None,
              tags_read: dict[str, dict[str, str]]) -> Plan:
        """Plan; the policy's tags are read when due, at most once per reconcile (``tags_read``)."""
        actual_tags = None
        if desired.tags is not None and desired.type in snapshot.enabled_policy_types:
            current, _ = find_policy(desired, snapshot, known_id)
            if current is not None and not current.aws_managed:
                if current.id not in tags_read and self._tags_due(obj):
                    tags_read[current.id] = self.gateway.list_tags(current.id)
                actual_tags = tags_read.get(current.id)
        return plan_policy(desired, snapshot, known_id, actual_tags)

    def _resolve(self, targets: PolicyTargets) -> tuple[tuple[PolicyTarget, ...], str | None]:
        """References -> AWS ids. A referenced object without an id yet (or being deleted): wait for it."""
        resolved: list[PolicyTarget] = []
        waiting: list[str] = []
        refs = [("OrgUnit", "orgUnitRefs", r.name) for r in targets.org_unit_refs]
        refs += [("AwsAccount", "accountRefs", r.name) for r in targets.account_refs]
        counters: dict[str, int] = {}
        for kind, field, name in refs:
            index = counters[field] = counters.get(field, -1) + 1
            state = self.refs.get(kind, name)
            if state.id is None or state.deleting:
                waiting.append(f"{kind} {name!r}")
            else:
                resolved.append(PolicyTarget(state.id, f"spec.targets.{field}[{index}] ({kind} {name!r})"))
        resolved += [PolicyTarget(target_id, f"spec.targets.ids[{i}]") for i, target_id in enumerate(targets.ids)]
        return tuple(resolved), (", ".join(waiting) if waiting else None)

    def _execute(self, action: Action, policy_id: str | None) -> str | None:
        """Carry out one action; returns the id of a policy it created."""
        gw = self.gateway
        if isinstance(action, CreatePolicy):
            return gw.create_policy(name=action.name, description=action.description, policy_type=action.policy_type,
                                    content=action.content, tags=action.tags).id
        if isinstance(action, UpdatePolicy):
            gw.update_policy(action.policy_id, name=action.name, description=action.description,
                             content=action.content)
        elif isinstance(action, AttachPolicy):
            target_policy = action.policy_id or policy_id
            assert target_policy is not None
            gw.attach_policy(target_policy, action.target_id)
        elif isinstance(action, DetachPolicy):
            gw.detach_policy(action.policy_id, action.target_id)
        elif isinstance(action, DeletePolicy):
            gw.delete_policy(action.policy_id)
        elif not self._execute_tags(action):
            raise TypeError(f"{KIND} cannot execute {action!r}")
        return None

    # ------------------------------------------------------------------------- delete
    def _delete(self, obj: ObjectView, run: Run) -> Outcome:
        spec_raw = dict(obj.spec)
        retain = spec_raw.get("deletionPolicy", "Delete") == "Retain" or spec_raw.get("managementPolicy") == "Observe"
        known_id = obj.status.get("id")
        snapshot = self.gateway.snapshot(max_age=0 if known_id and not retain else self.snapshot_max_age)
        policy = snapshot.policies.get(known_id) if known_id and not retain else None
        if policy is not None and policy.type == SCP:
            # Detaching needs each target's other SCPs (AWS forbids removing the last one): read them there.
            for target_id in sorted(policy.target_ids):
                self.gateway.refresh_target_policies(target_id, policy.type)
            snapshot = self.gateway.snapshot(max_age=self.snapshot_max_age)
        plan = plan_policy_delete(known_id, snapshot, retain=retain)
        if plan.blocked is not None:
            return run.blocked(plan)
        for action in plan.actions:
            self._execute(action, known_id)
            run.event("Normal", event_reason(action), action.describe())
        if retain and known_id:
            run.event("Normal", "Retained", f"policy {known_id} left in AWS with its attachments (deletionPolicy "
                      f"{spec_raw.get('deletionPolicy', 'Delete')}, managementPolicy "
                      f"{spec_raw.get('managementPolicy', 'Manage')})")
        return run.deleted()

