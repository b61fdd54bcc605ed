"""The reconcile engine: one sequence for every kind, each kind an ``Adapter`` to it. No kopf here.

The shape is crossplane-runtime's managed reconciler, with our pure planner in the middle:

    parse the spec -> references (wait, or refuse a cycle) -> claims (one object per AWS resource)
    -> observe (every read the plan needs, up front) -> plan (pure, once) -> status-only steps
    -> AWS actions (each failure reported on its own, the independent others still run) -> status

``awsorg plan`` runs this same engine with a gateway that records instead of writing (a dry run). Two drivers
call it: the kopf handlers (``controller.handlers.operator``) and the resync loop (``controller.reconciler.resync``).

The adapter protocol (what a kind supplies; ``Adapter`` below):

- from the spec alone: ``model`` (the pydantic spec), ``check`` (refusals beyond the schema), ``spec_status``,
  ``conditions``, ``references`` (other objects it needs the ids of), ``claim_key``/``claim_keys`` (the AWS
  resource it declares: two objects with one key, the younger is refused) and ``desired`` (the spec with its
  references resolved);
- ``observe(ctx, desired, view) -> Observed``: every read the plan needs, up front. Reads spread over resyncs ask
  ``ctx.due(read, key, view)``, the one rule for them; what other objects published is read from ``ctx.board``;
- ``plan(desired, observed) -> Plan``: pure (the planner);
- after the actions: ``after(desired, observed, done, known) -> Observed`` brings the observation up to date with
  what was carried out, from what the engine hands it and nothing else: ``Done`` (the resource's id, the actions
  applied) and ``known`` (``Knowledge``: the shared snapshot and what the gateways know once each write's method
  has kept it current), with no AWS call; then ``report(desired, observed, done) -> Report``, pure,
  builds the status fields (a typed status model of ``controller.api.models``), the kind's own conditions, the
  conditions that no longer apply, the facts published for other kinds' objects (``Board``) and the gauges whose
  series it owns. The engine writes them; an adapter writes no metric, no inventory and keeps no state between
  reconciles (adapters are shared by the operator and ``awsorg plan``);
- ``plan_delete(ctx, spec, resolved, view, retain)``: what deletion needs, with the references the engine resolved.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from prometheus_client import Gauge
from pydantic import BaseModel, ValidationError

from controller import metrics
from controller.api import limits
from controller.aws.errors import AwsError
from controller.aws.gateway import Knowledge, OrganizationsGateway
from controller.planner.actions import Action, Blocked, Plan, StatusStep
from controller.planner.claims import find_cycle
from controller.reconciler.base import (
    Board,
    Claim,
    IndexEntry,
    ObjectView,
    Outcome,
    References,
    RefState,
    claim_owner,
    now_iso,
)
from controller.reconciler.execute import event_reason, execute, explain
from controller.reconciler.guard import Guard
from controller.reconciler.inventory import TAG_SPREAD, Inventory
from controller.reconciler.propagation import PropagationWaits
from controller.reconciler.status import StatusBuilder, binding_of, fields_of, same_status
from controller.settings import Settings
from controller.state import OrgSnapshot

log = logging.getLogger(__name__)

SpecT = TypeVar("SpecT", bound=BaseModel)
DesiredT = TypeVar("DesiredT")
ObservedT = TypeVar("ObservedT")
STEP = 0.1  # look again this soon after a status-only step (intent recorded, request bound)


@dataclass(frozen=True)
class Reference:
    """A reference from a spec to another object of this API (``field`` names it in messages)."""

    kind: str
    name: str
    field: str


#: Spread reads keyed by a member account's id (its turn: the id modulo TAG_SPREAD); any other read (``TAGS``) is
#: keyed by an object's name (its turn: its rank among the kind's objects that declare tags).
TAGS = "tags"
ACCOUNT_READS = frozenset({"accessRole", "config", "rootCredentials"})


@dataclass
class Context:
    """What an adapter may use to observe: the gateway (its shared snapshot), when spread reads are due, what the
    other objects declare (``refs``: their ids and claims, as the engine resolves references from them) and what
    they published (``board``)."""

    gateway: OrganizationsGateway
    settings: Settings
    inventory: Inventory
    clock: Callable[[], float] = time.time
    refs: References | None = None
    board: Board = field(default_factory=Board)
    kind: str = ""

    def snapshot(self, *, fresh: bool = False) -> OrgSnapshot:
        """The shared snapshot (refreshed every resync by the observer; a reconcile reads the organization
        itself only when the observer has fallen behind), or a fresh read."""
        return self.gateway.snapshot(max_age=0 if fresh else self.settings.resync_seconds * 1.5)

    def due(self, read: str, key: str, view: ObjectView, *, settled: bool = True) -> bool:
        """Whether to make a spread read now (``read``: ``TAGS`` of the object ``key``, or one of ``ACCOUNT_READS``
        in the member account ``key``): always after a spec change or an AWS event about the object, and while
        what was last read is not ``settled`` (not as declared); otherwise once every TAG_SPREAD resyncs, in the
        key's turn, counted from its last read (``Inventory.claim_tag_read``). The caller makes the read when this
        answers True."""
        epoch = int(self.clock() // self.settings.resync_seconds)
        if view.trigger in ("change", "event") or view.spec_changed or not settled:
            return self.inventory.claim_tag_read(f"{self.kind}/{read}", key, epoch, 0, forced=True)
        turn = int(key) % TAG_SPREAD if read in ACCOUNT_READS else self.inventory.tag_bucket(self.kind, key)
        return self.inventory.claim_tag_read(f"{self.kind}/{read}", key, epoch, turn)


@dataclass(frozen=True)
class Done:
    """What a reconcile carried out: the id of the resource (bound, adopted or created) and the actions applied
    in AWS, in order (recorded ones, in a dry run)."""

    resource_id: str | None
    applied: tuple[Action, ...] = ()


Cond = tuple[str, bool, str, str]  # a condition of the kind's own: (type, status, reason, message)


@dataclass(frozen=True)
class Report:
    """What an adapter reports after a reconcile's actions (``Adapter.report``); the engine writes all of it.

    ``status``: the kind's status fields (a typed model; only the fields set are written, None removes one).
    ``conditions``: the kind's own conditions; ``stale``: condition types that no longer apply (removed).
    ``publish``: topic -> (the kind it is about, AWS id -> fact), for the objects of that kind (``Board``).
    ``gauges``: each gauge whose whole series the object owns, with its series now (labels -> value)."""

    status: BaseModel | None = None
    conditions: Sequence[Cond] = ()
    stale: Sequence[str] = ()
    publish: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    gauges: Sequence[tuple[Gauge, Mapping[tuple[str, ...], float]]] = ()


class Adapter(Generic[SpecT, DesiredT, ObservedT]):
    """What a kind supplies to the engine. Everything else (the sequence, policies, status) is the engine's."""

    kind: ClassVar[str]
    noun: ClassVar[str]  # how messages name its AWS resource: "OU", "account", "policy"
    model: type[SpecT]
    default_deletion: ClassVar[str]
    #: Objects of this kind are reconciled one at a time: they share a limit in AWS that each plan counts
    #: (policies: five of a type per target), so two plans from one look would each see room for the last one.
    serialized: ClassVar[bool] = False
    retaining: ClassVar[frozenset[str]] = frozenset({"Retain"})

    # ---------------------------------------------------------------------------- the spec
    def check(self, name: str, spec: SpecT, status: Mapping[str, Any]) -> str | None:
        """A refusal beyond the schema (InvalidSpec), or None."""
        return None

    def spec_status(self, spec: SpecT) -> BaseModel | None:
        """Status fields that follow from the spec alone (shown even when the spec is refused)."""
        return None

    def conditions(self, spec: SpecT) -> Sequence[Cond]:
        """Conditions of the kind's own beyond Ready/Synced/Drifted, from the spec alone."""
        return ()

    def references(self, spec: SpecT) -> Sequence[Reference]:
        return ()

    def claim_key(self, name: str, spec: SpecT) -> str | None:
        """The AWS resource this object declares, as a key two objects would share; None: claims nothing."""
        return None

    def claim_keys(self, name: str, spec: SpecT, status: Mapping[str, Any]) -> tuple[str, ...]:
        """Every key this object claims (``claim_key``'s, by default; an account also claims its account id)."""
        key = self.claim_key(name, spec)
        return () if key is None else (key,)

    def claim_refused(self, name: str, spec: SpecT, owner: str) -> Blocked:
        raise NotImplementedError

    def claim_refused_on(self, name: str, spec: SpecT, owner: str, key: str) -> Blocked:
        """The refusal when ``owner`` holds ``key`` (``claim_refused``'s, unless the kind words each key its way)."""
        return self.claim_refused(name, spec, owner)

    def observe_only(self, spec: SpecT) -> bool:
        return bool(getattr(spec, "management_policy", "Manage") == "Observe")

    def deletion_policy(self, spec: SpecT) -> str:
        return str(getattr(spec, "deletion_policy", self.default_deletion))

    # ---------------------------------------------------------------------------- reconcile
    def desired(self, name: str, spec: SpecT, resolved: Mapping[Reference, str]) -> DesiredT:
        raise NotImplementedError

    def observe(self, ctx: Context, desired: DesiredT, view: ObjectView) -> ObservedT:
        raise NotImplementedError

    def plan(self, desired: DesiredT, observed: ObservedT) -> Plan:
        raise NotImplementedError

    def after(self, desired: DesiredT, observed: ObservedT, done: Done, known: Knowledge) -> ObservedT:
        """The observation brought up to date with what ``done`` carried out, from ``known`` (the engine's: the
        shared snapshot and what each write's method left in the gateways). Pure: no AWS call, no context."""
        raise NotImplementedError

    def report(self, desired: DesiredT, observed: ObservedT, done: Done) -> Report:
        """Status fields, conditions, publications and gauges from what was observed (``after`` the actions)."""
        raise NotImplementedError

    def adopted(self, desired: DesiredT, resource_id: str) -> str:
        return f"adopted existing {self.noun} {resource_id}"

    # ---------------------------------------------------------------------------- delete
    def plan_delete(self, ctx: Context, spec: SpecT | None, resolved: Mapping[Reference, str], view: ObjectView,
                    retain: bool) -> Plan:
        """Observe what deletion needs and plan it (``retain``: leave the resource in AWS; ``resolved``: the
        references whose objects have an id)."""
        raise NotImplementedError

    # ---------------------------------------------------------------------------- for the drivers
    def index(self, name: str, spec: Mapping[str, Any], status: Mapping[str, Any],
              meta: Mapping[str, Any]) -> IndexEntry:
        """What the other objects need to know about one object: its id and references, and what it claims. The
        kopf indexes and the dry run keep exactly this."""
        conditions = status.get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        bound = binding_of(status)
        ref = RefState(exists=True, id=bound.id, ready=ready, deleting=bool(meta.get("deletionTimestamp")))
        try:
            parsed = self.model.model_validate(dict(spec))
        except ValidationError:
            return IndexEntry(ref)
        ref = dataclasses.replace(ref, refs=tuple((r.kind, r.name) for r in self.references(parsed)))
        keys = self.claim_keys(name, parsed, status)
        if not keys:
            return IndexEntry(ref)
        return IndexEntry(ref, keys, Claim(name, bound.id, bound.create_account_request_id,
                                           bool(bound.creation_started_at), str(meta.get("creationTimestamp") or "")))


class KindAdapter(Protocol):
    """An adapter as the drivers and ``awsorg plan`` see it, whatever its kind's types."""

    @property
    def kind(self) -> str: ...

    @property
    def default_deletion(self) -> str: ...

    def index(self, name: str, spec: Mapping[str, Any], status: Mapping[str, Any],
              meta: Mapping[str, Any]) -> IndexEntry: ...


class Reconciler(Protocol):
    """An engine as its drivers (the kopf handlers, the resync loop, ``awsorg plan``) see it."""

    kind: str
    latest: dict[str, dict[str, Any]]

    def reconcile(self, view: ObjectView) -> Outcome: ...

    def delete(self, view: ObjectView) -> Outcome: ...


@dataclass
class _Execution:
    resource_id: str | None
    applied: list[Action] = field(default_factory=list)
    failures: list[tuple[Action, Blocked]] = field(default_factory=list)
    wait: Blocked | None = None


def tag_refusal(kind: str, name: str, tags: Mapping[str, str] | None) -> str | None:
    """The tag keys AWS would refuse that the API server cannot check (their pattern: see models.TAG_KEY_RULES),
    in awsorg validate's words; refused before any AWS call."""
    found = [(key, refusal) for key in tags or {} if (refusal := limits.tag_key_refusal(key)) is not None]
    if not found:
        return None
    return f"{kind} {name!r} is invalid: " + "; ".join(
        f"spec.tags.{key}: {problem}; allowed: {allowed}" for key, (problem, allowed) in found)


class Engine(Generic[SpecT, DesiredT, ObservedT]):
    """Reconciles objects of one kind through its adapter; one lock per object."""

    def __init__(self, adapter: Adapter[SpecT, DesiredT, ObservedT], gateway: OrganizationsGateway, refs: References,
                 settings: Settings | None = None, inventory: Inventory | None = None,
                 clock: Callable[[], float] = time.time, board: Board | None = None) -> None:
        self.adapter = adapter
        self.kind = adapter.kind
        self.refs = refs
        self.settings = settings or Settings()
        self.propagation = PropagationWaits(self.settings.propagation_seconds)
        self.inventory = inventory or Inventory()
        self.board = board or Board()  # shared by the engines of every kind: facts one publishes, another reads
        self.ctx = Context(gateway, self.settings, self.inventory, clock, refs, self.board, adapter.kind)
        self.guard = Guard(gateway, self.settings, self.board)  # the administrator's policy
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._serial = threading.Lock()  # held around each reconcile when the adapter is ``serialized``
        # The status each object's last reconcile produced (the operator's own cache): newer than the API's
        # copy while a write of it is pending or failed.
        self.latest: dict[str, dict[str, Any]] = {}
        self._gauges: dict[str, tuple[Gauge, ...]] = {}  # the gauges whose series each object's last report owned

    @property
    def gateway(self) -> OrganizationsGateway:
        return self.ctx.gateway

    # ------------------------------------------------------------------------------- entry points
    def reconcile(self, view: ObjectView) -> Outcome:
        return self._run(view, self._reconcile)

    def delete(self, view: ObjectView) -> Outcome:
        outcome = self._run(view, self._delete)
        if outcome.done:
            metrics.forget(self.kind, view.name)
            self.inventory.forget(self.kind, view.name)
            self.board.withdraw(f"{self.kind}/{view.name}")  # what it published holds no more
        return outcome

    def _run(self, view: ObjectView, fn: Callable[[ObjectView, StatusBuilder], Outcome]) -> Outcome:
        started = time.monotonic()
        with self._lock(view.name), self._serial if self.adapter.serialized else contextlib.nullcontext():
            latest = self.latest.get(view.name)
            if latest is not None and not same_status(latest, view.status):
                # The object was read before this process's last status for it reached the API (a resync or an
                # event that waited on this lock while a reconcile finished): that status is the newer one. Acting
                # on the older would take the spec for not yet applied, and correct drift under `report`.
                view = dataclasses.replace(view, status=latest)
            st = StatusBuilder(self.kind, view, self.settings)
            checked = True
            try:
                outcome = fn(view, st)
            except AwsError as exc:
                self.gateway.invalidate()  # after a failed read, what AWS holds is not known for sure
                outcome, checked = st.aws_failure(exc), False
        if not outcome.done:
            self.inventory.record(self.kind, view.name, outcome.status.get("id"), view.spec.get("tags") is not None)
            conditions = {c["type"]: c["status"] for c in outcome.status.get("conditions", [])}
            metrics.RESOURCE_READY.labels(kind=self.kind, name=view.name).set(conditions.get("Ready") == "True")
            metrics.RESOURCE_DRIFTED.labels(kind=self.kind, name=view.name).set(conditions.get("Drifted") == "True")
            if checked:  # every look at the object counts, a wait or a refusal too; not a failed read of AWS
                metrics.RESOURCE_LAST_CHECKED.labels(kind=self.kind, name=view.name).set(time.time())
            self.latest[view.name] = outcome.status
        else:
            self.latest.pop(view.name, None)
        metrics.RECONCILE_TOTAL.labels(kind=self.kind, result=outcome.result).inc()
        metrics.RECONCILE_DURATION.labels(kind=self.kind).observe(time.monotonic() - started)
        return outcome

    def _lock(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    # ------------------------------------------------------------------------------- reconcile
    def _reconcile(self, view: ObjectView, st: StatusBuilder) -> Outcome:
        a = self.adapter
        try:
            spec = a.model.model_validate(dict(view.spec))
        except ValidationError as exc:
            return st.invalid_model(exc)
        st.status.update(fields_of(a.spec_status(spec)))
        for type_, ok, cond_reason, message in a.conditions(spec):
            st.conditions.set(type_, ok, cond_reason, message)
        refusal = tag_refusal(self.kind, view.name, getattr(spec, "tags", None)) or a.check(view.name, spec,
                                                                                           view.status)
        if refusal is not None:
            return st.invalid(refusal)
        st.observe_only = a.observe_only(spec)

        resolved, blocked = self._resolve(view, spec)
        if blocked is None:
            blocked = self._claimed(view, spec)
        if blocked is not None:
            return st.refused(blocked)
        desired = a.desired(view.name, spec, resolved)
        bound = binding_of(view.status).id
        forbidden = self.guard.spec(view.name, spec, bound, resolved)  # before any read of what it asks for
        if forbidden is not None:
            return st.refused(forbidden)

        observed = a.observe(self.ctx, desired, view)
        plan = a.plan(desired, observed)
        for prerequisite in range(3):
            if not any(action.prerequisite for action in plan.actions):
                break
            if prerequisite == 2:  # carried out twice and AWS still does not show it: look again later
                return st.refused(Blocked("PolicyTypeNotEnabled", "; ".join(
                    f"{a.describe()}: asked, and AWS does not show it done yet; waiting for AWS"
                    for a in plan.actions if a.prerequisite)))
            # Enabling a policy type attaches AWS's default policy everywhere: plan the rest from a new look.
            allowed = st.filter_drift(plan)
            if not allowed:
                report = self._report(view, desired, observed, Done(plan.resource_id))
                return st.synced(fields_of(report.status))
            forbidden = self.guard.plan(self.kind, view.name, spec, plan, allowed, resolved, bound=bound,
                                        correcting=st.spec_applied)
            if forbidden is not None:
                return st.refused(forbidden)
            done = self._execute(st, allowed, plan.resource_id)
            if done.failures:
                return st.failed_actions(done.failures)
            observed = a.observe(self.ctx, desired, view)
            plan = a.plan(desired, observed)

        # The administrator's policy on what this plan would do, before its first write (a status-only step
        # included: a refused object records no binding, no creation intent).
        forbidden = self.guard.plan(self.kind, view.name, spec, plan,
                                    tuple(x for x in self._to_run(st, plan) if not isinstance(x, StatusStep)),
                                    resolved, bound=bound, correcting=st.spec_applied)
        if forbidden is not None:
            return st.refused(forbidden)
        for step in plan.actions:
            if isinstance(step, StatusStep):
                st.status.update(fields_of(step.status_update(now_iso())))
                if step.pause is not None:
                    if step.pause == "CreationInProgress":
                        st.event("Normal", "CreateAccountFound", step.describe())
                    return st.progress(step.pause, step.describe(), STEP)
        if plan.status is not None:  # what the plan shows of a resource it waits for (an invitation's state)
            st.status.update(fields_of(plan.status))
        if plan.blocked is not None:
            return st.blocked(plan)

        actions = tuple(x for x in st.filter_drift(plan) if not isinstance(x, StatusStep))
        done = self._execute(st, actions, plan.resource_id)
        if plan.adopted and done.resource_id:
            st.event("Normal", "Adopted", a.adopted(desired, done.resource_id))
        elif plan.created and done.resource_id:  # what its own creation request made (an account): bound once
            st.event("Normal", "CreationSucceeded", f"created {a.noun} {done.resource_id}")
        report = self._report(view, desired, observed, Done(done.resource_id, tuple(done.applied)))
        fields = fields_of(report.status)
        for type_, ok, cond_reason, message in report.conditions:
            st.conditions.set(type_, ok, cond_reason, message)
        for type_ in report.stale:
            st.conditions.remove(type_)
        if done.failures:
            st.status.update(fields)
            return st.failed_actions(done.failures)
        if done.wait is not None:
            return st.progress(done.wait.reason, done.wait.message, self.settings.wait_seconds)
        return st.synced(fields)

    def _to_run(self, st: StatusBuilder, plan: Plan) -> tuple[Action, ...]:
        """The actions of ``plan`` that ``st.filter_drift`` will let through (without its effects on the status)."""
        if st.observe_only:
            return ()
        if plan.differences and st.spec_applied and self.settings.drift_policy == "report":
            return tuple(a for a in plan.actions if a in plan.fresh)
        return plan.actions

    def _report(self, view: ObjectView, desired: DesiredT, observed: ObservedT, done: Done) -> Report:
        """The adapter's report on what it observed after the actions; its publications and gauges written."""
        known = self.gateway.knowledge(self.ctx.snapshot())  # after the writes: what they left
        report = self.adapter.report(desired, self.adapter.after(desired, observed, done, known), done)
        for topic, (about, facts) in report.publish.items():
            self.board.publish(topic, f"{self.kind}/{view.name}", about, facts)
        self._gauges[view.name] = tuple(gauge for gauge, _ in report.gauges)
        for gauge, series in report.gauges:
            gauge.clear()
            for labels, value in series.items():
                gauge.labels(*labels).set(value)
        return report

    def _resolve(self, view: ObjectView, spec: SpecT) -> tuple[dict[Reference, str], Blocked | None]:
        """References -> AWS ids. One not bound yet: wait. One being deleted: wait, unless this object is bound
        already (it exists in AWS, so nothing new is made under what goes; a deletion AWS refuses, such as an
        OrgUnit not empty, is that object's, and never makes the objects that refer to it not Ready). A cycle:
        refuse, naming it."""
        resolved: dict[Reference, str] = {}
        waiting: list[str] = []
        bound = binding_of(view.status).id is not None
        for ref in self.adapter.references(spec):
            cycle = self._cycle(view.name, ref)
            if cycle:
                chain = " -> ".join(f"{kind} {name!r}" for kind, name in cycle)
                return resolved, Blocked("ReferenceCycle", f"{ref.field}: the references form a cycle: {chain}; "
                                         "an object cannot be its own ancestor. Point one of them elsewhere")
            state = self.refs.get(ref.kind, ref.name)
            if state.id is None or (state.deleting and not bound):
                waiting.append(f"{ref.kind} {ref.name!r}")
            else:
                resolved[ref] = state.id
        if waiting:
            return resolved, Blocked("WaitingForReference", f"waiting for {', '.join(waiting)} to be Ready")
        return resolved, None

    def _cycle(self, name: str, first: Reference) -> list[tuple[str, str]]:
        """The chain of references from this object back to itself through ``first``, if there is one."""
        return find_cycle((self.kind, name), (first.kind, first.name), lambda key: self.refs.get(*key).refs)

    def _claimed(self, view: ObjectView, spec: SpecT) -> Blocked | None:
        """Two objects declaring one AWS resource: the second is refused (one rule for every kind)."""
        bound = binding_of(view.status)
        for key in self.adapter.claim_keys(view.name, spec, view.status):
            claims = self.refs.claims(self.kind, key)
            indexed = next((c for c in claims if c.name == view.name), Claim(view.name))
            me = Claim(view.name, bound.id, bound.create_account_request_id, bool(bound.creation_started_at),
                       indexed.created or view.created)
            owner = claim_owner(me, claims)
            if owner is not None:
                return self.adapter.claim_refused_on(view.name, spec, owner, key)
        return None

    def _execute(self, st: StatusBuilder, actions: Sequence[Action], resource_id: str | None) -> _Execution:
        """Carry out each action; one that fails is reported and the independent others still run."""
        done = _Execution(resource_id)
        failed: set[type[Action]] = set()
        for action in actions:
            if action.depends_on() in failed:
                continue  # needs what an earlier action failed to make (the new policy, the log bucket): reported
            try:
                applied = execute(self.gateway, action, done.resource_id)
            except AwsError as exc:
                self.gateway.invalidate()
                failure = self.propagation.explain(action, exc) or explain(action, exc)
                if failure is not None:
                    failed.add(type(action))
                    done.failures.append((action, failure))
                continue
            self.propagation.done(action)
            done.resource_id = applied.resource_id or done.resource_id
            st.status.update(fields_of(applied.status))
            if not applied.happened:
                continue
            st.applied.append(action)
            done.applied.append(action)
            message = action.describe() + (f": {applied.message}" if applied.message else "")
            st.event("Normal", event_reason(action), message)
            done.wait = applied.wait or done.wait
        return done

    # ------------------------------------------------------------------------------- delete
    def _delete(self, view: ObjectView, st: StatusBuilder) -> Outcome:
        a = self.adapter
        for gauge in self._gauges.pop(view.name, ()):
            gauge.clear()  # the object is no longer watched (retained) or being removed
        try:
            spec: SpecT | None = a.model.model_validate(dict(view.spec))
        except ValidationError:
            spec = None  # never valid, so never acted on: nothing in AWS is this object's to delete
        if spec is not None:
            claimed = self._claimed(view, spec)
            if claimed is not None:
                st.event("Normal", "Retained", f"nothing deleted in AWS: {claimed.message}")
                return st.deleted()
        retain = spec is None or a.observe_only(spec) or a.deletion_policy(spec) in a.retaining
        resolved = {} if spec is None else {ref: state.id for ref in a.references(spec)
                                             if (state := self.refs.get(ref.kind, ref.name)).id}
        plan = a.plan_delete(self.ctx, spec, resolved, view, retain)
        if plan.status is not None:
            st.status.update(fields_of(plan.status))
        if plan.blocked is not None:
            return st.blocked(plan)
        forbidden = self.guard.deletion(self.kind, view.name, spec, plan, resolved)
        if forbidden:  # what the administrator's policy forbids stays in AWS; the object goes
            st.event("Warning", "ForbiddenByPolicy", f"nothing deleted in AWS ({a.noun} {plan.resource_id} left "
                     "there): forbidden by the administrator's policy: " + "; ".join(str(r) for r in forbidden))
            return st.deleted()
        done = self._execute(st, plan.actions, plan.resource_id)
        if done.failures:
            return st.failed_actions(done.failures)
        if done.wait is not None:  # AWS goes on on its own (an account closing): the object stays until it is done
            return st.progress(done.wait.reason, done.wait.message, self.settings.wait_seconds)
        if plan.released is not None:
            st.event("Normal", "Released", plan.released)
        elif plan.resource_id and not plan.actions:
            policy = "unknown (invalid spec)" if spec is None else a.deletion_policy(spec)
            management = "" if spec is None else f", managementPolicy {getattr(spec, 'management_policy', 'Manage')}"
            st.event("Normal", "Retained", f"{a.noun} {plan.resource_id} left in AWS (deletionPolicy {policy}"
                     f"{management})")
        return st.deleted()
