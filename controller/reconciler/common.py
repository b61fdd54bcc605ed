"""The reconcile loop every kind shares: locking, error mapping, drift policy, conditions, metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import ValidationError

from controller import metrics
from controller.aws.errors import AwsError, TransientAwsError
from controller.aws.gateway import OrganizationsGateway
from controller.planner.actions import (
    Action,
    AttachPolicy,
    Blocked,
    CloseAccount,
    CreateOU,
    CreatePolicy,
    DeleteOU,
    DeletePolicy,
    DetachPolicy,
    Difference,
    MoveAccount,
    Plan,
    RemoveAccount,
    RenameAccount,
    RenameOU,
    TagResource,
    UntagResource,
    UpdatePolicy,
)
from controller.reconciler.base import (
    Conditions,
    Event,
    ObjectView,
    Outcome,
    References,
    describe_validation_error,
    now_iso,
)
from controller.reconciler.inventory import TAG_SPREAD, Inventory
from controller.settings import Settings

log = logging.getLogger(__name__)

# AWS error codes with a reason of their own in Synced (everything else: AwsError).
_AWS_REASONS = {
    "OrganizationalUnitNotEmptyException": "OrgUnitNotEmpty",
    "DuplicateOrganizationalUnitException": "AlreadyExists",
    "DuplicatePolicyException": "AlreadyExists",
    "ParentNotFoundException": "ParentNotFound",
    "AccessDeniedException": "AccessDenied",
    "AWSOrganizationsNotInUseException": "OrganizationNotFound",
    "ConstraintViolationException": "LimitExceeded",
    "MalformedPolicyDocumentException": "InvalidSpec",
    "PolicyTypeNotEnabledException": "PolicyTypeNotEnabled",
    "AccountNotFoundException": "NotFound",
    "MasterCannotLeaveOrganizationException": "ManagementAccount",
    "CreationLimitReached": "CreationLimitReached",
}


# The event reason for each AWS write, whatever the kind that makes it.
EVENT_REASONS: dict[type, str] = {
    CreateOU: "Created",
    RenameOU: "Renamed",
    DeleteOU: "Deleted",
    MoveAccount: "Moved",
    RenameAccount: "Renamed",
    CloseAccount: "Closed",
    RemoveAccount: "Removed",
    CreatePolicy: "Created",
    UpdatePolicy: "Updated",
    AttachPolicy: "Attached",
    DetachPolicy: "Detached",
    DeletePolicy: "Deleted",
    TagResource: "Tagged",
    UntagResource: "Untagged",
}


def event_reason(action: Action) -> str:
    return EVENT_REASONS.get(type(action), "Updated")


# Blocked reasons that are waits, not failures: polled at AWSORG_WAIT_SECONDS, not backed off.
WAITING_REASONS = frozenset({"WaitingForReference", "CreationInProgress", "CreationLimitReached"})


class ReconcilerBase:
    kind = "Object"

    def __init__(
        self,
        gateway: OrganizationsGateway,
        refs: References,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.time,
        inventory: Inventory | None = None,
    ) -> None:
        self.gateway = gateway
        self.refs = refs
        self.settings = settings or Settings()
        self.clock = clock
        self.inventory = inventory or Inventory()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -------------------------------------------------------------------------------- entry points
    def reconcile(self, obj: ObjectView) -> Outcome:
        return self._run(obj, self._reconcile)

    def delete(self, obj: ObjectView) -> Outcome:
        outcome = self._run(obj, self._delete)
        if outcome.done:
            metrics.forget(self.kind, obj.name)
            self.inventory.forget(self.kind, obj.name)
        return outcome

    def _reconcile(self, obj: ObjectView, run: Run) -> Outcome:
        raise NotImplementedError

    def _delete(self, obj: ObjectView, run: Run) -> Outcome:
        raise NotImplementedError

    def _execute_tags(self, action: Action) -> bool:
        """Carry out a tag action (the same for every kind); False for any other action."""
        if isinstance(action, TagResource):
            self.gateway.tag_resource(action.resource_id, action.tags)
        elif isinstance(action, UntagResource):
            self.gateway.untag_resource(action.resource_id, action.keys)
        else:
            return False
        return True

    def _lock(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def _run(self, obj: ObjectView, fn: Callable[[ObjectView, Run], Outcome]) -> Outcome:
        started = time.monotonic()
        with self._lock(obj.name):
            run = Run(self, obj)
            try:
                outcome = fn(obj, run)
            except AwsError as exc:
                self.gateway.invalidate()  # after a failed call, what AWS holds is not known for sure
                outcome = run.aws_failure(exc)
        if not outcome.done:
            self.inventory.record(self.kind, obj.name, outcome.status.get("id"), obj.spec.get("tags") is not None)
        metrics.RECONCILE_TOTAL.labels(kind=self.kind, result=outcome.result).inc()
        metrics.RECONCILE_DURATION.labels(kind=self.kind).observe(time.monotonic() - started)
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in outcome.status.get("conditions", []))
        drifted = any(
            c["type"] == "Drifted" and c["status"] == "True" for c in outcome.status.get("conditions", [])
        )
        if not outcome.done:
            metrics.RESOURCE_READY.labels(kind=self.kind, name=obj.name).set(1 if ready else 0)
            metrics.RESOURCE_DRIFTED.labels(kind=self.kind, name=obj.name).set(1 if drifted else 0)
        return outcome

    @property
    def snapshot_max_age(self) -> float:
        """The shared snapshot is refreshed every resync by the observer; reconciles reuse it, and only
        read the organization themselves when the observer has fallen behind."""
        return self.settings.resync_seconds * 1.5

    def _tags_due(self, obj: ObjectView) -> bool:
        """Whether to read this object's tags from AWS now.

        Always after a spec change; otherwise once every 10 resyncs: an object's turn is its rank among
        the kind's objects that declare tags, so one resync reads the tags of at most a tenth of them.
        """
        if obj.trigger == "change" or obj.spec_changed:
            return True
        epoch = int(self.clock() // self.settings.resync_seconds)
        if epoch % TAG_SPREAD != self.inventory.tag_bucket(self.kind, obj.name):
            return False
        return self.inventory.claim_tag_read(self.kind, obj.name, epoch)


class Run:
    """One reconcile of one object: accumulates events and builds the resulting status."""

    def __init__(self, reconciler: ReconcilerBase, obj: ObjectView) -> None:
        self.r = reconciler
        self.obj = obj
        self.status: dict[str, Any] = {k: v for k, v in obj.status.items() if k not in ("conditions",)}
        self.conditions = Conditions(list(obj.status.get("conditions", [])), obj.generation)
        self.events: list[Event] = []
        self.drift_found: list[Difference] = []
        self.drift_corrected = False

    @property
    def settings(self) -> Settings:
        return self.r.settings

    def event(self, type_: Literal["Normal", "Warning"], reason: str, message: str) -> None:
        self.events.append(Event(type_, reason, message))

    @property
    def spec_applied(self) -> bool:
        """True when the current generation was already synced once (so differences are drift)."""
        synced = self.conditions.get("Synced")
        return bool(
            synced
            and synced.get("status") == "True"
            and synced.get("observedGeneration") == self.obj.generation
        )

    # --------------------------------------------------------------------------- outcomes
    def _finish(
        self, requeue: float | None, result: Literal["success", "error", "waiting"], done: bool = False
    ) -> Outcome:
        self.status["observedGeneration"] = self.obj.generation
        self.status["lastSyncTime"] = now_iso()
        self.status["conditions"] = self.conditions.as_list()
        return Outcome(status=self.status, events=self.events, requeue_after=requeue, done=done, result=result)

    def _fail(
        self,
        reason: str,
        message: str,
        requeue: float | None,
        result: Literal["error", "waiting"],
        event_type: Literal["Normal", "Warning"] = "Warning",
    ) -> Outcome:
        old = self.conditions.get("Synced")
        if not old or old.get("reason") != reason or old.get("message") != message:
            self.event(event_type, reason, message)
        self.conditions.set("Synced", False, reason, message)
        ready = self.conditions.get("Ready")
        if reason not in ("AwsThrottled",) or not ready or ready.get("status") != "True":
            self.conditions.set("Ready", False, reason, message)
        if self.conditions.get("Drifted") is None:
            self.conditions.set("Drifted", False, "NotObserved", "")
        return self._finish(requeue, result)

    def invalid(self, exc: ValidationError) -> Outcome:
        return self._fail("InvalidSpec", describe_validation_error(self.r.kind, self.obj.name, exc), None, "error")

    def invalid_message(self, message: str) -> Outcome:
        return self._fail("InvalidSpec", message, None, "error")

    def blocked(self, plan: Plan) -> Outcome:
        blocked: Blocked = plan.blocked  # type: ignore[assignment]
        if plan.resource_id:
            self.status["id"] = plan.resource_id
        if plan.differences:
            # ImmutableField: the spec asks for what AWS cannot do (not drift). Otherwise AWS changed
            # outside Git in a way the operator will not undo (an account closed, a resource gone).
            as_drift = blocked.reason != "ImmutableField"
            self._set_drift(list(plan.differences), as_drift=as_drift)
            if as_drift:
                fields = ", ".join(f"{d.field} (desired {d.desired!r}, actual {d.actual!r})" for d in plan.differences)
                self.conditions.set("Drifted", True, "DriftDetected", f"AWS differs from the spec: {fields}")
        if blocked.reason in WAITING_REASONS:
            requeue: float | None = self.settings.wait_seconds
            result: Literal["error", "waiting"] = "waiting"
        else:
            requeue = self.settings.backoff(self.obj.retry) if blocked.retry else None
            result = "error"
        event_type: Literal["Normal", "Warning"] = "Normal" if blocked.reason == "CreationInProgress" else "Warning"
        return self._fail(blocked.reason, blocked.message, requeue, result, event_type)

    def progress(self, reason: str, message: str, requeue: float) -> Outcome:
        """A step of a multi-step operation is done; look again after ``requeue`` seconds."""
        return self._fail(reason, message, requeue, "waiting", "Normal")

    def aws_failure(self, exc: AwsError) -> Outcome:
        if isinstance(exc, TransientAwsError) and exc.throttled:
            reason = "AwsThrottled"
        else:
            reason = _AWS_REASONS.get(exc.code, "AwsError")
        message = f"AWS {exc.operation} failed: {exc.code}"
        if exc.reason:
            message += f" ({exc.reason})"
        if exc.aws_message:
            message += f": {exc.aws_message}"
        delay = self.settings.backoff(self.obj.retry)
        if exc.code == "DuplicateOrganizationalUnitException":
            delay = min(delay, self.settings.wait_seconds)  # adopt it on the next look
        return self._fail(reason, message, delay, "error")

    def filter_drift(self, plan: Plan, *, observe_only: bool) -> tuple[Action, ...]:
        """Drop corrective actions where the drift policy or ``Observe`` says only to report."""
        differences = list(plan.differences)
        is_drift = bool(differences) and (self.spec_applied or observe_only)
        if not is_drift:
            self._set_drift([], as_drift=True)
            return () if observe_only else plan.actions
        self._set_drift(differences, as_drift=True)
        if observe_only or self.settings.drift_policy == "report":
            return ()
        self.drift_corrected = bool(plan.actions)
        return plan.actions

    def _set_drift(self, differences: list[Difference], *, as_drift: bool) -> None:
        self.status["drift"] = [
            {"field": d.field, "desired": d.desired, "actual": d.actual} for d in differences
        ]
        self.drift_found = differences if as_drift else []
        if as_drift and differences:
            was = self.conditions.get("Drifted")
            if not was or was.get("status") != "True":
                metrics.DRIFT_DETECTED.labels(kind=self.r.kind).inc()
                fields = ", ".join(d.field for d in differences)
                self.event("Warning", "DriftDetected", f"AWS differs from the spec in: {fields}")

    def synced(self, plan: Plan, extra: dict[str, Any], *, corrected: bool) -> Outcome:
        self.status.update(extra)
        if self.drift_found and self.drift_corrected:
            metrics.DRIFT_CORRECTED.labels(kind=self.r.kind).inc()
            fields = ", ".join(d.field for d in self.drift_found)
            self.event("Normal", "DriftCorrected", f"put AWS back to the spec in: {fields}")
            self.conditions.set("Drifted", False, "Corrected", f"corrected at {now_iso()}: {fields}")
            self.conditions.set("Ready", True, "Available", "")
        elif self.drift_found:
            fields = ", ".join(f"{d.field} (desired {d.desired!r}, actual {d.actual!r})" for d in self.drift_found)
            why = "managementPolicy Observe" if dict(self.obj.spec).get("managementPolicy") == "Observe" else (
                "AWSORG_DRIFT_POLICY=report"
            )
            self.conditions.set("Drifted", True, "DriftDetected", f"AWS differs from the spec ({why}): {fields}")
            self.conditions.set("Ready", False, "Drifted", f"AWS differs from the spec in {len(self.drift_found)} "
                                "field(s); see status.drift")
        else:
            self.conditions.set("Drifted", False, "InSync", "")
            self.conditions.set("Ready", True, "Available", "")
        self.conditions.set("Synced", True, "ReconcileSuccess", "")
        return self._finish(None, "success")

    def deleted(self) -> Outcome:
        return self._finish(None, "success", done=True)
