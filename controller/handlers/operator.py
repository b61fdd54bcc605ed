"""The kopf wiring: with ``cluster`` and ``logfilter``, the only code importing kopf. Thin: kopf kwargs -> the
engine -> patch/events; the resync loop (``controller.reconciler.resync``) is started here."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Mapping
from typing import Any

import kopf

from controller import metrics
from controller.api.models import GROUP, VERSION
from controller.aws.factory import Factory
from controller.aws.gateway import OrganizationsGateway
from controller.handlers import logfilter
from controller.handlers.cluster import crd_deleting, kube_api
from controller.kube.api import EventPoster
from controller.reconciler.base import Board, Claim, ObjectView, Outcome, RefState, Trigger
from controller.reconciler.engine import Reconciler
from controller.reconciler.inventory import Inventory
from controller.reconciler.kinds import ADAPTERS, PLURALS, engines
from controller.reconciler.resync import Resync
from controller.reconciler.status import same_status
from controller.settings import Settings

log = logging.getLogger("awsorg")

# A stop (SIGTERM, SIGINT) ends the process within this many seconds whatever the API server's state: kopf's own
# graceful stop waits on the API server (the peering record released, watches and patches ended), which behind an
# unreachable API server takes minutes. Below deploy/deployment.yaml's terminationGracePeriodSeconds (30), after
# which the kubelet sends SIGKILL (tests/e2e/test_stop.py checks both).
STOP_SECONDS = 20.0

PREFIX = GROUP  # annotations and the finalizer live under our API group


class IndexReferences:
    """References and claims resolved from kopf's in-memory indexes (no API calls): each object's ``IndexEntry``
    (``Adapter.index``), its ``RefState`` and ``Claim`` held as they are."""

    def __init__(self) -> None:
        self.indexes: dict[str, Any] = {}

    def refresh(self, kwargs: Mapping[str, Any]) -> None:
        for kind, plural in PLURALS.items():
            for suffix in ("refs", "claims", "bodies"):
                if f"{plural}_{suffix}" in kwargs:
                    self.indexes[f"{kind}/{suffix}"] = kwargs[f"{plural}_{suffix}"]

    def get(self, kind: str, name: str) -> RefState:
        index = self.indexes.get(f"{kind}/refs")
        for value in (index or {}).get(name, []):
            if isinstance(value, RefState):  # the object's IndexEntry.ref, kept as it is
                return value
        return RefState(exists=False)

    def bodies(self, kind: str) -> dict[str, Any]:
        """name -> the object as kopf last saw it (a kopf index holds a list of values per key: one here)."""
        index = self.indexes.get(f"{kind}/bodies") or {}
        return {name: next(iter(values)) for name, values in list(index.items()) if values}

    def claims(self, kind: str, key: str) -> list[Claim]:
        index = self.indexes.get(f"{kind}/claims")
        return [value for value in (index or {}).get(key, []) if isinstance(value, Claim)]

    def claim_keys(self, kind: str) -> list[str]:
        index = self.indexes.get(f"{kind}/claims") or {}
        return [key for key, values in list(index.items()) if values]


def _view(kind: str, body: Any, retry: int, trigger: Trigger) -> ObjectView:
    meta = body["metadata"]
    return ObjectView(kind=kind, name=meta["name"], generation=int(meta.get("generation") or 1),
                      spec=dict(body.get("spec") or {}), status=dict(body.get("status") or {}), retry=retry,
                      trigger=trigger, created=str(meta.get("creationTimestamp") or ""),
                      annotations=dict(meta.get("annotations") or {}))


def _apply(outcome: Outcome, body: Any, patch: Any, events: EventPoster) -> None:
    if not same_status(outcome.status, body.get("status") or {}):  # nothing new: nothing written
        patch["status"] = outcome.status
    for event in outcome.events:
        events.post(body, event.type, event.reason, event.message)
        log.info("%s %s: %s", body["metadata"]["name"], event.reason, event.message)


def _look_again(outcome: Outcome, body: Any, delay: float) -> None:
    """Ask kopf to call again after ``delay``; a wait is marked so that kopf's log of it is INFO, not ERROR."""
    if outcome.waiting:
        logfilter.WAITING.mark(body["metadata"].get("uid"))
    raise kopf.TemporaryError(_synced_message(outcome), delay=delay)


class Stopper:
    """The operator's stop: our own tasks (the resync, the events queue, the event poster) end at the signal, not
    at kopf's cleanup (which comes only after kopf's stop, waiting on the API server); kopf is asked to stop; and
    the process exits after :data:`STOP_SECONDS` if it has not by then (a daemon thread: it needs neither the
    event loop nor the threads still in an AWS or API call)."""

    def __init__(self, seconds: float = STOP_SECONDS) -> None:
        self.seconds = seconds
        self.flag = asyncio.Event()  # kopf's stop_flag
        self.tasks: list[asyncio.Task[Any]] = []

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Replace kopf's signal handlers (installed by kopf.spawn_tasks) with :meth:`stop`."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, sig)

    def stop(self, sig: signal.Signals | None = None) -> None:
        if self.flag.is_set():
            return
        log.info("%s received: stopping (the resync and the events queue now; the process exits within %.0fs "
                 "whatever the API server's state)", sig.name if sig else "stop", self.seconds)
        for task in self.tasks:
            task.cancel()
        self.flag.set()
        timer = threading.Timer(self.seconds, self._exit_now)
        timer.daemon = True
        timer.start()

    def _exit_now(self) -> None:
        log.warning("the operator did not stop within %.0fs (the API server or AWS did not answer); exiting now",
                    self.seconds)
        logging.shutdown()
        os._exit(0)


def register(registry: kopf.OperatorRegistry, factory: Factory, gateway: OrganizationsGateway,
             stopper: Stopper | None = None) -> None:
    """Register every handler on ``registry`` (a fresh one per operator, so tests can run several)."""
    settings = factory.settings
    peering_lifetime = settings.peering_lifetime_seconds  # ``configure`` below gets kopf's own ``settings``
    refs = IndexReferences()
    inventory = Inventory()
    board = Board()
    events = EventPoster(kube_api)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        """In a cluster: the pod's service account; elsewhere: the kubeconfig (KUBECONFIG honoured)."""
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.peering.lifetime = peering_lifetime
        settings.persistence.finalizer = f"{PREFIX}/finalizer"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=PREFIX, key="last-handled-configuration"
        )
        # Events are ours: one per meaningful change, not per log line, posted by EventPoster where
        # `kubectl describe` finds them. kopf posts none (its events would go to the operator's namespace, which
        # deploy/rbac.yaml does not grant).
        settings.posting.enabled = False
        settings.execution.max_workers = 8
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330

    kinds = engines(gateway, refs, settings=settings, inventory=inventory, board=board)
    for engine in kinds.values():
        _register_kind(registry, engine, refs, settings, events)

    @kopf.on.startup(registry=registry)
    async def start_observer(memo: Any, **kwargs: Any) -> None:
        refs.refresh(kwargs)  # kopf hands its (live) indexes to startup handlers too
        memo.poster = events.start()
        resync = Resync(settings, gateway, inventory, kinds, refs.bodies, api=kube_api,
                        paused=lambda: logfilter.PEERING.paused, board=board)
        memo.observer = asyncio.get_running_loop().create_task(resync.run_forever())
        queue = factory.create_events_queue()
        if queue is not None:
            memo.events = asyncio.get_running_loop().create_task(resync.run_events(queue))
        if stopper is not None:
            stopper.tasks.extend(t for t in (memo.poster, memo.observer, getattr(memo, "events", None)) if t)

    @kopf.on.cleanup(registry=registry)
    async def stop_observer(memo: Any, **_: Any) -> None:
        for task in (getattr(memo, "observer", None), getattr(memo, "events", None), getattr(memo, "poster", None)):
            if task is not None:
                task.cancel()


def _register_kind(registry: kopf.OperatorRegistry, engine: Reconciler, refs: IndexReferences,
                   settings: Settings, events: EventPoster) -> None:
    kind = engine.kind
    adapter = ADAPTERS[kind]
    resource = (GROUP, VERSION, PLURALS[kind])

    @kopf.index(*resource, id=f"{PLURALS[kind]}_refs", registry=registry)
    def ref_index(name: str, spec: Any, status: Any, meta: Any, **_: Any) -> dict[str, Any]:
        return {name: adapter.index(name, spec, status, meta).ref}

    @kopf.index(*resource, id=f"{PLURALS[kind]}_bodies", registry=registry)
    def body_index(name: str, body: Any, **_: Any) -> dict[str, Any]:
        """The objects themselves, for the resync: compared with AWS without reading the API."""
        return {name: {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"),
                       "metadata": dict(body["metadata"]), "spec": dict(body.get("spec") or {}),
                       "status": dict(body.get("status") or {})}}

    @kopf.index(*resource, id=f"{PLURALS[kind]}_claims", registry=registry)
    def claim_index(name: str, spec: Any, status: Any, meta: Any, **_: Any) -> dict[str, Any]:
        entry = adapter.index(name, spec, status, meta)
        return {key: entry.claim for key in entry.claim_keys}

    def reconcile(trigger: Trigger, body: Any, patch: Any, retry: int, kwargs: dict[str, Any]) -> None:
        refs.refresh(kwargs)
        outcome = engine.reconcile(_view(kind, body, retry, trigger))
        _apply(outcome, body, patch, events)
        if outcome.requeue_after is not None:
            _look_again(outcome, body, outcome.requeue_after)

    @kopf.on.create(*resource, registry=registry, id="reconcile")
    def on_create(body: Any, patch: Any, retry: int, **kwargs: Any) -> None:
        reconcile("change", body, patch, retry, kwargs)

    @kopf.on.update(*resource, registry=registry, id="reconcile", field="spec")
    def on_update(body: Any, patch: Any, retry: int, **kwargs: Any) -> None:
        reconcile("change", body, patch, retry, kwargs)

    @kopf.on.resume(*resource, registry=registry, id="reconcile")
    def on_resume(body: Any, patch: Any, retry: int, **kwargs: Any) -> None:
        reconcile("resume", body, patch, retry, kwargs)

    @kopf.on.delete(*resource, registry=registry, id="delete")
    def on_delete(body: Any, patch: Any, retry: int, **kwargs: Any) -> None:
        if crd_deleting(PLURALS[kind]):  # an uninstall, not Git: release the finalizer, change nothing in AWS
            log.info("%s %s: its CRD is being deleted; finalizer released, AWS untouched", kind,
                     body["metadata"]["name"])
            events.post(body, "Normal", "Released", f"The CustomResourceDefinition {PLURALS[kind]}.{GROUP} is being "
                        "deleted: the finalizer is released and nothing in AWS is changed")
            return
        refs.refresh(kwargs)
        outcome = engine.delete(_view(kind, body, retry, "delete"))
        if not outcome.done:
            _apply(outcome, body, patch, events)
            _look_again(outcome, body, outcome.requeue_after or settings.backoff(retry))
        for event in outcome.events:
            events.post(body, event.type, event.reason, event.message)


def _synced_message(outcome: Outcome) -> str:
    for cond in outcome.status.get("conditions", []):
        if cond["type"] == "Synced":
            return f"{cond['reason']}: {cond['message']}"
    return "retrying"


def run(factory: Factory, *, peering_name: str | None = None, priority: int = 0, verbose: bool = False,
        liveness_endpoint: str | None = None, metrics_addr: str = "0.0.0.0") -> None:
    """Run the operator until interrupted."""
    settings = factory.settings
    kopf.configure(verbose=verbose, log_prefix=True)
    logfilter.install()
    logfilter.install_peering_state(peering=peering_name is not None)
    metrics.RESYNC_INTERVAL.set(settings.resync_seconds)
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, addr=metrics_addr)
    gateway = factory.create_gateway()
    registry = kopf.OperatorRegistry()
    stopper = Stopper()
    register(registry, factory, gateway, stopper)

    async def operate() -> None:
        # kopf.operator() is kopf.spawn_tasks + kopf.run_tasks; split, so that our stop replaces kopf's signal
        # handlers (which spawn_tasks installs) before anything runs.
        existing = {t for t in asyncio.all_tasks() if not t.done()}
        tasks = await kopf.spawn_tasks(
            registry=registry,
            clusterwide=True,
            standalone=peering_name is None,
            peering_name=peering_name,
            priority=priority,
            liveness_endpoint=liveness_endpoint,
            stop_flag=stopper.flag,
        )
        stopper.install(asyncio.get_running_loop())
        await kopf.run_tasks(tasks, ignored=existing)

    asyncio.run(operate())
