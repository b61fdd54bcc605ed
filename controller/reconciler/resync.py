"""The resync loop: the engine's second driver (beside the kopf handlers). It reads the organization once and
compares every object with it, every interval, and compares at once the objects an AWS event concerns.

It replaces one kopf timer per object, which ends for good when kopf fails to write its patch (a 409, or
5xx past kopf's retries), silently turning drift detection off for that object. Here nothing that one
object's write does can stop the comparisons, for it or any other object:

- the objects come from kopf's indexes (no API read), their status from the engine's own cache when it is
  newer than the API's copy (a write pending or failed);
- an object whose last status is not in the API yet is not acted on again (its creation steps must be stored
  before the AWS calls that follow them): the write is retried, and the object compared on the next pass;
- only a status that changed is written, with its events; a quiet pass writes nothing and logs at DEBUG;
- every comparison is exported (``awsorg_resource_last_checked_timestamp_seconds``), so an alert fires when an
  object has not been compared for three intervals;
- objects whose published facts changed (``Board``: the Organization's baseline verdict of an account) are compared
  again at the end of the pass, not a pass later.

No kopf here: the objects (``bodies``), the Kubernetes API (``api``) and whether this replica is on standby
(``paused``) are handed in by ``controller.handlers.operator``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from controller import metrics
from controller.aws.events import EventsQueue, OrganizationsEvent
from controller.aws.gateway import OrganizationsGateway
from controller.planner.account import closure_quota
from controller.reconciler.base import Board, Event, ObjectView, Trigger
from controller.reconciler.engine import Reconciler
from controller.reconciler.inventory import Inventory
from controller.reconciler.kinds import PLURALS
from controller.reconciler.status import same_status
from controller.settings import Settings

log = logging.getLogger("awsorg.resync")

T = TypeVar("T")
Bodies = Callable[[str], Mapping[str, Any]]  # kind -> {name: body} (kopf's index of the objects)


class StatusWriter(Protocol):
    """The Kubernetes API as the resync writes to it (``controller.handlers.cluster.KubeApi``)."""

    async def patch_status(self, plural: str, name: str, status: Mapping[str, Any]) -> None: ...

    async def post_event(self, involved: Mapping[str, Any], type_: str, reason: str, message: str) -> None: ...


def _no_api() -> AbstractAsyncContextManager[StatusWriter]:
    raise RuntimeError("the resync was given no Kubernetes API to write to")


def observe_once(gateway: OrganizationsGateway, inventory: Inventory) -> bool:
    """Read the organization afresh and count what no object declares. False when it failed (logged and
    counted in awsorg_resync_failures_total); the next resync tries again."""
    try:
        snapshot = gateway.snapshot(max_age=0)
        inventory.report_unmanaged(snapshot)
        metrics.ACCOUNT_CLOSURES_REMAINING.set(closure_quota(snapshot).remaining)
    except Exception as exc:
        metrics.RESYNC_FAILURES.inc()
        log.warning("observing the organization failed: %s", exc)
        return False
    return True


def _in_daemon_thread(fn: Callable[[], T]) -> asyncio.Future[T]:
    """Run a blocking call in a daemon thread: unlike the default executor's, the process does not wait for
    it on exit (kopf's graceful stop, and with it a hand-over to the standby replica, stay immediate)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if not future.done():
            future.set_exception(error) if error is not None else future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: the operator has stopped
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="awsorg-events", daemon=True).start()
    return future


class Resync:
    def __init__(self, settings: Settings, gateway: OrganizationsGateway, inventory: Inventory,
                 engines: Mapping[str, Reconciler], bodies: Bodies,
                 api: Callable[[], AbstractAsyncContextManager[StatusWriter]] = _no_api,
                 paused: Callable[[], bool] = lambda: False, board: Board | None = None) -> None:
        self.settings = settings
        self.gateway = gateway
        self.inventory = inventory
        self.engines = engines
        self.bodies = bodies
        self.api = api
        self.paused = paused  # this replica is on standby (kopf peering): the active one observes and writes
        self.board = board or Board()
        self.writes = 0  # status writes and events made by the resync (a quiet pass makes none)

    async def run_forever(self) -> None:
        """One pass every AWSORG_RESYNC_SECONDS, and one at once when the administrator's policy file changes (it
        is looked at every second: a stat). A replica that kopf peering holds on standby does not observe (no AWS
        calls): it waits to take over, then observes at once."""
        loop = asyncio.get_running_loop()
        due = loop.time() + min(self.settings.resync_seconds, 5.0)  # let kopf resume the objects first
        policy_version = self.settings.policy.version
        while True:
            if self.paused():
                due = loop.time()
                for engine in self.engines.values():
                    engine.latest.clear()  # the active replica writes meanwhile: this cache goes stale
                await asyncio.sleep(1.0)
                continue
            policy = self.settings.policy
            policy.refresh()  # whoever notices a change first (a reconcile may), its version says so here
            if policy.path is not None:
                metrics.POLICY_FILE_VALID.set(0 if policy.problem else 1)
                metrics.POLICY_VERSION.set(policy.version)
            if policy.version != policy_version:
                policy_version = policy.version
                due = loop.time()  # the administrator's policy changed: every object is compared with it now
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(min(1.0, wait))  # short steps: a pause is noticed within a second
                continue
            due = loop.time() + self.settings.resync_seconds
            try:
                await self.once()
            except Exception:  # never let one pass end the loop
                log.exception("the resync pass failed; the next one runs in %.0fs", self.settings.resync_seconds)

    async def once(self) -> None:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, observe_once, self.gateway, self.inventory):
            return
        async with self.api() as api:
            for kind, engine in self.engines.items():
                for name, body in sorted(dict(self.bodies(kind)).items()):
                    try:
                        await self._compare(api, kind, engine, name, body)
                    except Exception as exc:  # the API server, most likely: the next pass tries again
                        log.warning("resync of %s %r: %s; tried again on the next pass", kind, name, exc)
            # Facts published for other objects changed (the Organization's baseline verdict of some accounts):
            # what those objects show follows now, not a pass later (accounts are compared before the Organization).
            await self._compare_concerned(api, self.board.take_changed())

    async def _compare_concerned(self, api: StatusWriter, concerned: set[tuple[str, str]]) -> None:
        """Compare the objects of each kind bound to these AWS ids."""
        for kind, name in sorted(self.inventory.bound_to(frozenset(aws_id for _, aws_id in concerned))):
            body = self.bodies(kind).get(name) if kind in {k for k, _ in concerned} else None
            if body is not None:
                try:
                    await self._compare(api, kind, self.engines[kind], name, body)
                except Exception as exc:
                    log.warning("resync of %s %r: %s; tried again on the next pass", kind, name, exc)

    async def run_events(self, queue: EventsQueue) -> None:
        """Drift in seconds: each AWS Organizations event read from the queue re-reads just the part of the
        organization it names and compares the objects it concerns at once; the operator's own writes are
        recognised (by CloudTrail's requestID) and ignored. Lost or late events are the periodic resync's."""
        loop = asyncio.get_running_loop()
        pause = 1.0
        while True:
            if self.paused():
                await asyncio.sleep(1.0)  # the active replica consumes the queue
                continue
            try:
                events = await _in_daemon_thread(queue.receive)  # a 20 s long poll must not hold up a stop
                await self.apply_events(events)
                await loop.run_in_executor(None, queue.delete, events)
                pause = 1.0
            except Exception as exc:  # never let the queue end the loop: the periodic resync covers the gap
                log.warning("reading AWS Organizations events from %s failed: %s; again in %.0fs", queue.url, exc,
                            pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)

    async def apply_events(self, events: list[OrganizationsEvent]) -> None:
        loop = asyncio.get_running_loop()
        concerned: set[tuple[str, str]] = set()
        for event in events:
            if self.gateway.is_own_write(event.request_id):
                metrics.EVENTS.labels(result="own").inc()
                log.debug("event %s %s: the operator's own write", event.name, event.request_id)
                continue
            ids = await loop.run_in_executor(None, self.gateway.refresh_after, event.name, event.params)
            if ids is None:
                metrics.EVENTS.labels(result="resync").inc()
                concerned = {(kind, name) for kind in self.engines for name in self.bodies(kind)}
            else:
                metrics.EVENTS.labels(result="compared").inc()
                concerned |= self.inventory.bound_to(ids)
            log.info("AWS event %s (%s): comparing %d object(s)", event.name, event.request_id, len(concerned))
        if concerned:
            async with self.api() as api:
                for kind, name in sorted(concerned):
                    body = self.bodies(kind).get(name)
                    if body is not None:
                        try:
                            await self._compare(api, kind, self.engines[kind], name, body, trigger="event")
                        except Exception as exc:
                            log.warning("resync of %s %r: %s; tried again on the next pass", kind, name, exc)

    async def _compare(self, api: StatusWriter, kind: str, engine: Reconciler, name: str,
                       body: Mapping[str, Any], trigger: Trigger = "resync") -> None:
        meta = body.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return  # kopf's delete handler has it
        stored = dict(body.get("status") or {})
        latest = engine.latest.get(name)
        if latest is not None and not same_status(latest, stored):
            # The last status is not in the API (a write failed, or is still on its way): write it again and
            # act on the object once it is stored.
            await self._write(api, kind, body, latest, [])
            return
        view = ObjectView(kind=kind, name=name, generation=int(meta.get("generation") or 1),
                          spec=dict(body.get("spec") or {}), status=stored, trigger=trigger,
                          created=str(meta.get("creationTimestamp") or ""))
        outcome = await asyncio.get_running_loop().run_in_executor(None, engine.reconcile, view)
        if not same_status(outcome.status, stored) or outcome.events:
            await self._write(api, kind, body, outcome.status, outcome.events)
        else:
            log.debug("%s %r: no change", kind, name)

    async def _write(self, api: StatusWriter, kind: str, body: Mapping[str, Any], status: Mapping[str, Any],
                     events: list[Event]) -> None:
        name = (body.get("metadata") or {}).get("name")
        if not same_status(status, body.get("status") or {}):
            await api.patch_status(PLURALS[kind], str(name), status)
            self.writes += 1
        for event in events:
            await api.post_event(body, event.type, event.reason, event.message)
            self.writes += 1
            log.info("%s %s: %s", name, event.reason, event.message)
