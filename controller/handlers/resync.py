"""The resync: one loop that reads the organization once and compares every object with it, every interval.

It replaces one kopf timer per object, which ends for good when kopf fails to write its patch (a 409, or
5xx past kopf's retries), silently turning drift detection off for that object. Here nothing that one
object's write does can stop the comparisons, for it or any other object:

- the objects come from kopf's indexes (no API read), their status from the engine's own cache when it is
  newer than the API's copy (a write pending or failed);
- an object whose last status is not in the API yet is not acted on again (its creation steps must be stored
  before the AWS calls that follow them): the write is retried, and the object compared on the next pass;
- only a status that changed is written, with its events; a quiet pass writes nothing and logs at DEBUG;
- every comparison is exported (``awsorg_resource_last_checked_timestamp_seconds``), so an alert fires when an
  object has not been compared for three intervals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from controller import metrics
from controller.aws.gateway import OrganizationsGateway
from controller.handlers import logfilter
from controller.handlers.cluster import KubeApi
from controller.reconciler.base import ObjectView
from controller.reconciler.engine import Engine
from controller.reconciler.inventory import Inventory
from controller.reconciler.kinds import PLURALS
from controller.reconciler.status import same_status
from controller.settings import Settings

log = logging.getLogger("awsorg.resync")

Bodies = Callable[[str], Mapping[str, Any]]  # kind -> {name: body} (kopf's index of the objects)


def observe_once(gateway: OrganizationsGateway, inventory: Inventory) -> bool:
    """Read the organization afresh and count what no object declares. False when it failed (logged and
    counted in awsorg_resync_failures_total); the next resync tries again."""
    try:
        snapshot = gateway.snapshot(max_age=0)
        inventory.report_unmanaged(snapshot)
    except Exception as exc:
        metrics.RESYNC_FAILURES.inc()
        log.warning("observing the organization failed: %s", exc)
        return False
    return True


class Resync:
    def __init__(self, settings: Settings, gateway: OrganizationsGateway, inventory: Inventory,
                 engines: Mapping[str, Engine[Any, Any, Any]], bodies: Bodies,
                 api: Callable[[], KubeApi] = KubeApi) -> None:
        self.settings = settings
        self.gateway = gateway
        self.inventory = inventory
        self.engines = engines
        self.bodies = bodies
        self.api = api
        self.writes = 0  # status writes and events made by the resync (a quiet pass makes none)

    async def run_forever(self) -> None:
        """One pass every AWSORG_RESYNC_SECONDS. A replica that kopf peering holds on standby does not observe
        (no AWS calls): it waits to take over, then observes at once."""
        loop = asyncio.get_running_loop()
        due = loop.time() + min(self.settings.resync_seconds, 5.0)  # let kopf resume the objects first
        while True:
            if logfilter.PEERING.paused:
                due = loop.time()
                for engine in self.engines.values():
                    engine.latest.clear()  # the active replica writes meanwhile: this cache goes stale
                await asyncio.sleep(1.0)
                continue
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

    async def _compare(self, api: KubeApi, kind: str, engine: Engine[Any, Any, Any], name: str,
                       body: Mapping[str, Any]) -> None:
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
                          spec=dict(body.get("spec") or {}), status=stored, trigger="resync",
                          created=str(meta.get("creationTimestamp") or ""))
        outcome = await asyncio.get_running_loop().run_in_executor(None, engine.reconcile, view)
        if not same_status(outcome.status, stored) or outcome.events:
            await self._write(api, kind, body, outcome.status, outcome.events)
        else:
            log.debug("%s %r: no change", kind, name)

    async def _write(self, api: KubeApi, kind: str, body: Mapping[str, Any], status: Mapping[str, Any],
                     events: list[Any]) -> None:
        name = (body.get("metadata") or {}).get("name")
        if not same_status(status, body.get("status") or {}):
            await api.patch_status(PLURALS[kind], str(name), status)
            self.writes += 1
        for event in events:
            await api.post_event(body, event.type, event.reason, event.message)
            self.writes += 1
            log.info("%s %s: %s", name, event.reason, event.message)
