"""One reconcile's status: conditions, drift, events, and the outcome handed back to the caller.

Every kind's status is built here, the same way: ``Ready`` (the AWS resource exists and matches the
spec), ``Synced`` (the last reconcile succeeded, or why not), ``Drifted`` (AWS was last seen differing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from controller import metrics
from controller.api.models import STATUS_LIST_MAX, AwsAccountStatus, DriftItem
from controller.aws.errors import AwsError, TransientAwsError
from controller.planner.actions import WAIT_REASONS, Action, Blocked, BlockReason, Difference, Plan
from controller.reconciler.base import Conditions, Event, ObjectView, Outcome, describe_validation_error, now_iso
from controller.settings import Settings

# AWS error codes with a reason of their own in Synced (everything else: AwsError).
AWS_REASONS: Mapping[str, BlockReason] = MappingProxyType({
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
})

Result = Literal["success", "error", "waiting"]
# What status says an object is bound to in AWS (every kind has an id; an account also its creation's steps).
BINDING = tuple(str(AwsAccountStatus.model_fields[f].alias) for f in (
    "id", "email", "create_account_request_id", "creation_started_at", "invitation_started_at", "invitation_for",
    "invitation_handshake_id"))


def binding_of(status: Mapping[str, Any]) -> AwsAccountStatus:
    """The binding fields of a status (``BINDING``), read through the typed status model; a status holding
    something else there (written by hand) binds nothing."""
    try:
        return AwsAccountStatus.model_validate({k: status[k] for k in BINDING if status.get(k) is not None})
    except ValidationError:
        return AwsAccountStatus()


def fields_of(model: BaseModel | None) -> dict[str, Any]:
    """The status fields a typed status model sets, by their Kubernetes names (a field set to None: removed)."""
    return {} if model is None else model.model_dump(by_alias=True, exclude_unset=True)

#: How many items of a list a status keeps (``STATUS_LIST_MAX``: status.drift, status.baseline.failed), and how many
#: names a condition message or an event lists: the rest are counted, so that a status stays far below the API
#: server's limits at thousands of accounts. Those limits: a request body of 3 MiB (kube-apiserver,
#: ``MaxRequestBodyBytes``, k8s.io/apiserver/pkg/server/config.go) and 1.5 MiB per object in etcd
#: (``--max-request-bytes``, etcd's "System limits"; both read 2026-12-07). A status over them is not recorded.
MESSAGE_NAMES_MAX = 10
#: A message kept in a status list item (an AWS error message can be long).
ITEM_MESSAGE_MAX = 300


def first(items: Sequence[Any], limit: int = STATUS_LIST_MAX) -> list[Any]:
    """The first ``limit`` items (the rest are counted where they are shown)."""
    return list(items[:limit])


def clipped(text: str, limit: int = ITEM_MESSAGE_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def names(items: Sequence[str], limit: int = MESSAGE_NAMES_MAX, sep: str = ", ", clip: int = ITEM_MESSAGE_MAX) -> str:
    """Items joined for a message: the first ``limit`` (each clipped at ``clip``), then how many more."""
    more = len(items) - limit
    return sep.join(clipped(i, clip) for i in items[:limit]) + (f"{sep}and {more} more" if more > 0 else "")


def _pruned(value: Any) -> Any:
    """What the API server stores of a value: nulls pruned from objects, at every depth."""
    if isinstance(value, Mapping):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _clip(value: str | None) -> str | None:
    return None if value is None else clipped(value, 2 * ITEM_MESSAGE_MAX)  # a policy document is a value


def same_status(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal as the API server stores them, but for lastSyncTime."""
    return bool(_pruned({**a, "lastSyncTime": None}) == _pruned({**b, "lastSyncTime": None}))


def aws_failure(exc: AwsError) -> Blocked:
    """An action AWS refused, in AWS's words (when nothing more useful can be said of it)."""
    return Blocked(aws_reason(exc), aws_message(exc))


def aws_reason(exc: AwsError) -> BlockReason:
    reason: BlockReason | None = "AwsThrottled" if isinstance(exc, TransientAwsError) and exc.throttled else None
    return reason or AWS_REASONS.get(exc.code, "AwsError")


def aws_message(exc: AwsError) -> str:
    message = f"AWS {exc.operation} failed: {exc.code}"
    if exc.reason:
        message += f" ({exc.reason})"
    if exc.aws_message:
        message += f": {exc.aws_message}"
    return message


class StatusBuilder:
    """Accumulates one reconcile's events and conditions and builds the resulting status."""

    def __init__(self, kind: str, obj: ObjectView, settings: Settings, *, observe_only: bool = False) -> None:
        self.kind = kind
        self.obj = obj
        self.settings = settings
        self.observe_only = observe_only
        self.status: dict[str, Any] = {k: v for k, v in obj.status.items() if k != "conditions"}
        self.conditions = Conditions(list(obj.status.get("conditions", [])), obj.generation)
        self.events: list[Event] = []
        self.applied: list[Action] = []
        self.drift_found: list[Difference] = []
        self.drift_corrected = False

    def event(self, type_: Literal["Normal", "Warning"], reason: str, message: str) -> None:
        self.events.append(Event(type_, reason, message))

    @property
    def spec_applied(self) -> bool:
        """True when the current generation was already synced once (so differences are drift)."""
        synced = self.conditions.get("Synced")
        return bool(
            synced and synced.get("status") == "True" and synced.get("observedGeneration") == self.obj.generation
        )

    # --------------------------------------------------------------------------- outcomes
    def _finish(self, requeue: float | None, result: Result, done: bool = False) -> Outcome:
        self.status["observedGeneration"] = self.obj.generation
        self.status["conditions"] = self.conditions.as_list()
        # lastSyncTime: when the status last changed. A reconcile that finds nothing new leaves the status exactly
        # as it was, so that nothing is written (the metric awsorg_resource_last_checked_timestamp_seconds says
        # when it was last compared).
        self.status["lastSyncTime"] = self.obj.status.get("lastSyncTime")
        if not self.status["lastSyncTime"] or not same_status(self.status, self.obj.status):
            self.status["lastSyncTime"] = now_iso()
        return Outcome(status=self.status, events=self.events, requeue_after=requeue, done=done, result=result,
                       applied=list(self.applied))

    def fail(self, reason: str, message: str, requeue: float | None, result: Literal["error", "waiting"],
             event_type: Literal["Normal", "Warning"] = "Warning") -> Outcome:
        old = self.conditions.get("Synced")
        if not old or old.get("reason") != reason or old.get("message") != message:
            self.event(event_type, reason, message)
        self.conditions.set("Synced", False, reason, message)
        ready = self.conditions.get("Ready")
        if reason != "AwsThrottled" or not ready or ready.get("status") != "True":
            self.conditions.set("Ready", False, reason, message)
        if self.conditions.get("Drifted") is None:
            self.conditions.set("Drifted", False, "NotObserved", "")
        return self._finish(requeue, result)

    def invalid(self, message: str) -> Outcome:
        return self.fail("InvalidSpec", message, None, "error")

    def invalid_model(self, exc: Any) -> Outcome:
        return self.invalid(describe_validation_error(self.kind, self.obj.name, exc))

    def blocked(self, plan: Plan) -> Outcome:
        blocked: Blocked = plan.blocked  # type: ignore[assignment]
        if plan.resource_id:
            self.status["id"] = plan.resource_id
        if plan.differences:
            # ImmutableField: the spec asks for what AWS cannot do (not drift); nor is a spec not yet carried out
            # (a refusal of it, e.g. a sixth policy on a target, is not AWS changing behind Git's back). Otherwise
            # AWS changed outside Git in a way the operator will not undo (an account closed, a resource gone).
            as_drift = blocked.reason != "ImmutableField" and self.spec_applied
            self._set_drift(list(plan.differences), as_drift=as_drift)
            if as_drift:
                fields = names([f"{d.field} (desired {d.desired!r}, actual {d.actual!r})" for d in plan.differences])
                self.conditions.set("Drifted", True, "DriftDetected", f"AWS differs from the spec: {fields}")
        return self.refused(blocked)

    def refused(self, blocked: Blocked) -> Outcome:
        if blocked.reason in WAIT_REASONS:  # a slow wait (on a person: an invitation) at the resync interval
            requeue: float | None = self.settings.resync_seconds if blocked.slow else self.settings.wait_seconds
            result: Literal["error", "waiting"] = "waiting"
        else:
            requeue = self.settings.backoff(self.obj.retry) if blocked.retry else None
            if requeue is not None and blocked.slow:
                requeue = max(requeue, self.settings.resync_seconds)
            result = "error"
        event_type: Literal["Normal", "Warning"] = "Normal" if blocked.reason == "CreationInProgress" else "Warning"
        return self.fail(blocked.reason, blocked.message, requeue, result, event_type)

    def progress(self, reason: str, message: str, requeue: float) -> Outcome:
        """A step of a multi-step operation is done; look again after ``requeue`` seconds."""
        return self.fail(reason, message, requeue, "waiting", "Normal")

    def aws_failure(self, exc: AwsError) -> Outcome:
        delay = self.settings.backoff(self.obj.retry)
        if exc.code == "DuplicateOrganizationalUnitException":
            delay = min(delay, self.settings.wait_seconds)  # adopt it on the next look
        return self.fail(aws_reason(exc), aws_message(exc), delay, "error")

    def failed_actions(self, failures: Sequence[tuple[Action, Blocked]]) -> Outcome:
        """Some actions of the plan failed (each named in the message); the others were carried out."""
        reason = failures[0][1].reason
        message = names([f.message for _, f in failures], sep="; ", clip=4_000)  # a whole message: what to do
        if all(f.reason in WAIT_REASONS for _, f in failures):
            return self.fail(reason, message, self.settings.wait_seconds, "waiting", "Normal")
        requeue = self.settings.backoff(self.obj.retry) if any(f.retry for _, f in failures) else None
        if requeue is not None and all(f.slow for _, f in failures if f.retry):
            requeue = max(requeue, self.settings.resync_seconds)
        if requeue is not None and reason == "AlreadyExists":
            requeue = min(requeue, self.settings.wait_seconds)  # adopt it on the next look
        return self.fail(reason, message, requeue, "error")

    # --------------------------------------------------------------------------- drift
    def filter_drift(self, plan: Plan) -> tuple[Action, ...]:
        """Drop corrective actions where the drift policy or ``Observe`` says only to report."""
        differences = list(plan.differences)
        is_drift = bool(differences) and (self.spec_applied or self.observe_only)
        if not is_drift:
            self._set_drift([], as_drift=True)
            return () if self.observe_only else plan.actions
        self._set_drift(differences, as_drift=True)
        if self.observe_only:
            return ()
        if self.settings.drift_policy == "report":
            return tuple(a for a in plan.actions if a in plan.fresh)  # new work is not a correction
        self.drift_corrected = bool(plan.actions)
        return plan.actions

    def _set_drift(self, differences: list[Difference], *, as_drift: bool) -> None:
        self.status["drift"] = [DriftItem(field=d.field, desired=_clip(d.desired), actual=_clip(d.actual)).model_dump(
            by_alias=True, exclude_none=True) for d in first(differences)]
        self.status["driftCount"] = len(differences)  # always there: a merge patch never removes a field
        self.drift_found = differences if as_drift else []
        if as_drift and differences:
            was = self.conditions.get("Drifted")
            if not was or was.get("status") != "True":
                metrics.DRIFT_DETECTED.labels(kind=self.kind).inc()
                fields = names([d.field for d in differences])
                self.event("Warning", "DriftDetected", f"AWS differs from the spec in: {fields}")

    def synced(self, fields: dict[str, Any]) -> Outcome:
        self.status.update(fields)
        if self.drift_found and self.drift_corrected:
            metrics.DRIFT_CORRECTED.labels(kind=self.kind).inc()
            corrected = names([d.field for d in self.drift_found])
            self.event("Normal", "DriftCorrected", f"put AWS back to the spec in: {corrected}")
            self.conditions.set("Drifted", False, "Corrected", f"corrected at {now_iso()}: {corrected}")
            self.conditions.set("Ready", True, "Available", "")
        elif self.drift_found:
            shown = names([f"{d.field} (desired {d.desired!r}, actual {d.actual!r})" for d in self.drift_found])
            why = "managementPolicy Observe" if self.observe_only else "AWSORG_DRIFT_POLICY=report"
            self.conditions.set("Drifted", True, "DriftDetected", f"AWS differs from the spec ({why}): {shown}")
            self.conditions.set("Ready", False, "Drifted", f"AWS differs from the spec in {len(self.drift_found)} "
                                "field(s); see status.drift")
        else:
            self.conditions.set("Drifted", False, "InSync", "")
            self.conditions.set("Ready", True, "Available", "")
        self.conditions.set("Synced", True, "ReconcileSuccess", "")
        return self._finish(None, "success")

    def deleted(self) -> Outcome:
        return self._finish(None, "success", done=True)
