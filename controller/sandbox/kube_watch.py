"""The sandbox API server's watches: every change as an event to the open watch streams, resumable from a
``resourceVersion`` (410 Gone when too old), with bookmarks; the second part of
:class:`controller.sandbox.kube.KubeEmulator`.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Mapping

import aiohttp.web
import kmock

from controller.sandbox import _kube_table, kube_meta
from controller.sandbox.kube_storage import (
    DEFAULT_HISTORY_SIZE,
    KubeStorage,
    Obj,
    ResourceDef,
    StoreKey,
    _error,
    _field_terms,
    _fields_match,
    _labels_match,
    _parse_label_selector,
    _Path,
)

WATCH_POLL_SECONDS = 2.0


class KubeWatch(KubeStorage):
    """The change history of each resource and the watch streams that follow it."""

    def __init__(self, *, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        super().__init__(history_size=history_size)
        self._watchers: dict[StoreKey, set[asyncio.Queue[tuple[str, Obj] | None]]] = (
            collections.defaultdict(set))
        self.bookmark_seconds = kube_meta.BOOKMARK_SECONDS  # tests shorten it
        self._closing = False

    def _emit(self, rdef: ResourceDef, event_type: str, obj: Obj) -> None:
        key = rdef.store_key
        history = self._history.setdefault(key, collections.deque(maxlen=self._history_size))
        if history.maxlen is not None and len(history) >= history.maxlen:
            self._floor[key] = history[0][0]
        history.append((int(obj["metadata"]["resourceVersion"]), event_type, obj))
        for queue in list(self._watchers.get(key, ())):
            queue.put_nowait((event_type, obj))

    def drop_watches(self) -> None:
        """End every open watch stream, as a load balancer or an API server restart does; clients re-watch."""
        for queues in self._watchers.values():
            for queue in queues:
                queue.put_nowait(None)

    # ------------------------------------------------------------------------------------------
    # Watching.
    # ------------------------------------------------------------------------------------------

    async def _serve_watch_stream(self, request: kmock.Request, rdef: ResourceDef, parsed: _Path,
                                  accept: tuple[str, str] | None) -> aiohttp.web.StreamResponse:
        params = request.params
        raw_request = request._raw_request
        assert raw_request is not None
        labels = _parse_label_selector(params.get("labelSelector", ""))
        fields = _field_terms(rdef, params.get("fieldSelector", ""))
        if parsed.name is not None:
            fields.append(("metadata.name", True, parsed.name))
        namespace = parsed.namespace if rdef.namespaced else None
        since = params.get("resourceVersion", "")
        send_initial = params.get("sendInitialEvents") == "true"
        timeout: float | None = None
        if params.get("timeoutSeconds"):
            try:
                timeout = float(params["timeoutSeconds"])
            except ValueError:
                raise _error(400, "BadRequest", "invalid timeoutSeconds") from None

        def matches(obj: Obj) -> bool:
            meta = obj.get("metadata") or {}
            if namespace is not None and meta.get("namespace") != namespace:
                return False
            if labels and not _labels_match(meta.get("labels") or {}, labels):
                return False
            return not fields or _fields_match(rdef, obj, fields)

        # Compute the initial events and subscribe atomically (no awaits in between).
        initial: list[tuple[str, Obj]] = []
        gone = False
        if not since or since == "0" or send_initial:
            initial = [("ADDED", obj) for obj in self._store[rdef.store_key].values() if matches(obj)]
            initial.sort(key=lambda e: int(e[1]["metadata"]["resourceVersion"]))
            if send_initial:
                initial.append(("BOOKMARK", {"kind": rdef.kind, "apiVersion": rdef.api_version, "metadata": {
                    "resourceVersion": str(self._rv), "annotations": {"k8s.io/initial-events-end": "true"}}}))
        else:
            try:
                since_rv = int(since)
            except ValueError:
                raise _error(400, "BadRequest", f"invalid resourceVersion: {since}") from None
            if since_rv < self._floor.get(rdef.store_key, 0):
                gone = True
            else:
                initial = [(t, o) for rv, t, o in self._history.get(rdef.store_key, ())
                           if rv > since_rv and matches(o)]
        queue: asyncio.Queue[tuple[str, Obj] | None] = asyncio.Queue()
        if not gone:
            self._watchers[rdef.store_key].add(queue)

        response = aiohttp.web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(raw_request)
            if gone:
                status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": f"too old resource version: {since} ({self._floor.get(rdef.store_key, 0)})",
                          "reason": "Expired", "code": 410}
                await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
                return response
            for event_type, obj in initial:
                await response.write(self._encode_event(rdef, event_type, obj, accept, params))
            loop = asyncio.get_running_loop()
            deadline = None if timeout is None else loop.time() + timeout
            bookmarks = params.get("allowWatchBookmarks") in ("true", "1", "True")
            next_bookmark = self._next_bookmark(loop.time(), deadline) if bookmarks else None
            while not self._closing:
                now = loop.time()
                if deadline is not None and now >= deadline:
                    break
                if next_bookmark is not None and now >= next_bookmark and queue.empty():
                    bookmark = {"kind": rdef.kind, "apiVersion": rdef.api_version,
                                "metadata": {"resourceVersion": str(self._rv)}}
                    await response.write(self._encode_event(rdef, "BOOKMARK", bookmark, accept, params))
                    next_bookmark = self._next_bookmark(now, deadline)
                    continue
                waits = [WATCH_POLL_SECONDS]
                if deadline is not None:
                    waits.append(deadline - now)
                if next_bookmark is not None:
                    waits.append(next_bookmark - now)
                wait = max(min(waits), 0.001)
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=wait)
                except TimeoutError:
                    transport = raw_request.transport
                    if transport is None or transport.is_closing():
                        break
                    continue
                if item is None:
                    break
                event_type, obj = item
                if matches(obj):
                    await response.write(self._encode_event(rdef, event_type, obj, accept, params))
            await response.write_eof()
        except (ConnectionResetError, aiohttp.ClientConnectionResetError, RuntimeError):
            pass  # the client went away
        finally:
            self._watchers[rdef.store_key].discard(queue)
        return response

    def _next_bookmark(self, now: float, deadline: float | None) -> float | None:
        """When a watch that allows bookmarks gets its next one.

        apiserver pkg/storage/cacher/cache_watcher.go (nextBookmarkTime):
            // We try to send bookmarks:
            // (a) right before the watcher timeout - for now we simply set it 2s before the deadline
            // (b) roughly every minute
            heartbeatTime := now.Add(bookmarkFrequency)
            if c.deadline.IsZero() { return heartbeatTime, true }
            if pretimeoutTime := c.deadline.Add(-2 * time.Second); pretimeoutTime.Before(heartbeatTime) {
                heartbeatTime = pretimeoutTime
            }
            if heartbeatTime.Before(now) { return time.Time{}, false }
        A bookmark carries only the kind and the resourceVersion the watcher has caught up to
        (metav1.WatchEvent type BOOKMARK); clients resume from it.
        """
        heartbeat = now + self.bookmark_seconds
        if deadline is None:
            return heartbeat
        heartbeat = min(heartbeat, deadline - 2.0)
        return None if heartbeat < now else heartbeat

    def _encode_event(self, rdef: ResourceDef, event_type: str, obj: Obj, accept: tuple[str, str] | None,
                      params: Mapping[str, str]) -> bytes:
        payload: Obj = self._present(rdef, obj) if event_type != "BOOKMARK" else obj
        if accept is not None and accept[0] == "Table" and event_type != "BOOKMARK":
            payload = _kube_table.to_table([payload], rdef.printer_columns,
                                           resource_version=payload["metadata"]["resourceVersion"],
                                           include_object=params.get("includeObject", "Metadata"),
                                           version=accept[1])
        return json.dumps({"type": event_type, "object": payload}).encode() + b"\n"

    def close_watches(self) -> None:
        """End all watch streams (on shutdown)."""
        self._closing = True
        for queues in self._watchers.values():
            for queue in queues:
                queue.put_nowait(None)
