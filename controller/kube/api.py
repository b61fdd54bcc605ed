"""A small HTTP client of the Kubernetes API, for what is reached outside kopf's handlers.

Used by the resync (status writes and events that no handler makes), the event poster, the delete handler (is
our CRD being deleted: an uninstall) and ``awsorg plan --cluster`` (the objects and the status the operator
wrote: what each is bound to, and which a change removes). No kopf here: the login (the pod's service account,
or the kubeconfig) is handed in, and ``controller.handlers.cluster`` hands in kopf's.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import logging
import ssl
import tempfile
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Protocol

import aiohttp

from controller.api.models import GROUP, VERSION

# Events of cluster-scoped objects live in `default` with an empty involvedObject.namespace: the API server's
# event validation allows no other namespace for them than default and kube-system (kubernetes
# pkg/apis/core/validation/events.go legacyValidateEvent: "len(event.InvolvedObject.Namespace) == 0 &&
# event.Namespace != metav1.NamespaceDefault && event.Namespace != metav1.NamespaceSystem" is invalid), and
# `kubectl describe` finds a cluster-scoped object's events by involvedObject.namespace="" (kubectl's
# searchEvents: GetFieldSelector(&ref.Name, &ref.Namespace, refKind, refUID) over all namespaces).
EVENTS_NAMESPACE = "default"

log = logging.getLogger("awsorg")


class ClusterUnreachable(Exception):
    pass


class Connection(Protocol):
    """Where the API server is and how to log in to it (the fields of ``kopf.ConnectionInfo`` read here)."""

    @property
    def server(self) -> str: ...
    @property
    def insecure(self) -> bool | None: ...
    @property
    def scheme(self) -> str | None: ...
    @property
    def token(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def ca_path(self) -> Any: ...
    @property
    def ca_data(self) -> str | bytes | None: ...
    @property
    def certificate_path(self) -> Any: ...
    @property
    def certificate_data(self) -> str | bytes | None: ...
    @property
    def private_key_path(self) -> Any: ...
    @property
    def private_key_data(self) -> str | bytes | None: ...


Login = Callable[[], Connection]  # raises ClusterUnreachable when there is nothing to log in with


def _pem(tmp: str, name: str, path: Any, data: str | bytes | None) -> str | None:
    """A PEM file for ssl: the kubeconfig's path, or its inline (base64 or PEM) data written to ``tmp``."""
    if path:
        return str(path)
    if not data:
        return None
    raw = data if isinstance(data, bytes) else data.encode()
    out = f"{tmp}/{name}"
    with open(out, "wb") as file:
        file.write(raw if b"BEGIN" in raw else base64.b64decode(raw))
    return out


def _ssl_context(info: Connection) -> ssl.SSLContext | bool:
    if info.insecure:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        context = ssl.create_default_context(cafile=_pem(tmp, "ca.pem", info.ca_path, info.ca_data))
        cert = _pem(tmp, "cert.pem", info.certificate_path, info.certificate_data)
        if cert:
            context.load_cert_chain(cert, _pem(tmp, "key.pem", info.private_key_path, info.private_key_data))
    return context


class KubeApi:
    """A session to the API server: list our objects, merge-patch a status, post an event."""

    def __init__(self, login: Login, timeout: float = 30.0) -> None:
        self._login = login
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._server = ""
        self._ssl: ssl.SSLContext | bool = True

    async def __aenter__(self) -> KubeApi:
        info = self._login()  # read again for every session: in-cluster tokens are rotated
        headers = {"Authorization": f"{info.scheme or 'Bearer'} {info.token}"} if info.token else {}
        auth = aiohttp.BasicAuth(info.username, info.password or "") if info.username else None
        self._server, self._ssl = info.server.rstrip("/"), _ssl_context(info)
        self._session = aiohttp.ClientSession(headers=headers, auth=auth,
                                              timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()

    async def _request(self, method: str, path: str, body: Any = None, content_type: str = "application/json"
                       ) -> dict[str, Any]:
        assert self._session is not None, "use KubeApi as an async context manager"
        async with self._session.request(method, self._server + path, json=body, ssl=self._ssl,
                                         headers={"Content-Type": content_type}) as response:
            if response.status >= 300:
                raise ClusterUnreachable(f"{method} {path}: {response.status} {(await response.text())[:300]}")
            result: dict[str, Any] = await response.json()
            return result

    async def list(self, plural: str) -> list[dict[str, Any]]:
        return list((await self._request("GET", f"/apis/{GROUP}/{VERSION}/{plural}")).get("items") or [])

    async def crd(self, name: str) -> dict[str, Any] | None:
        """The CustomResourceDefinition ``name``, or None: listed by name (deploy/rbac.yaml grants list, not get)."""
        found = await self._request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
                                           f"?fieldSelector=metadata.name%3D{name}")
        items = found.get("items") or []
        return dict(items[0]) if items else None

    async def patch_status(self, plural: str, name: str, status: Mapping[str, Any]) -> None:
        await self._request("PATCH", f"/apis/{GROUP}/{VERSION}/{plural}/{name}/status", {"status": dict(status)},
                            "application/merge-patch+json")

    async def post_event(self, involved: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        meta = involved.get("metadata") or {}
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"namespace": EVENTS_NAMESPACE, "generateName": "awsorg-event-"},
            "involvedObject": {"apiVersion": involved.get("apiVersion"), "kind": involved.get("kind"),
                               "name": meta.get("name"), "uid": meta.get("uid")},
            "type": type_, "reason": reason, "message": message[:1024], "action": reason,
            "reportingComponent": "awsorg-operator", "reportingInstance": "awsorg-operator",
            "source": {"component": "awsorg-operator"}, "firstTimestamp": now, "lastTimestamp": now,
            "eventTime": now, "count": 1,
        }
        await self._request("POST", f"/api/v1/namespaces/{EVENTS_NAMESPACE}/events", event)


async def _read(plurals: Iterable[str], login: Login) -> dict[str, list[dict[str, Any]]]:
    async with KubeApi(login) as api:
        return {plural: await api.list(plural) for plural in plurals}


def read_objects(plurals: Iterable[str], login: Login) -> dict[str, list[dict[str, Any]]]:
    """plural -> the objects in the cluster (spec, status, metadata). Raises ClusterUnreachable."""
    try:
        return asyncio.run(_read(list(plurals), login))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise ClusterUnreachable(str(exc)) from exc


async def _crd_deleting(plural: str, login: Login) -> bool:
    async with KubeApi(login) as api:
        crd = await api.crd(f"{plural}.{GROUP}")
    return crd is None or bool((crd.get("metadata") or {}).get("deletionTimestamp"))


def crd_deleting(plural: str, login: Login) -> bool:
    """Whether the CRD of our ``plural`` is being deleted (or gone): an uninstall deleting every object of the kind,
    which the API server does by normal deletion (apiextensions-apiserver's CRD finalizer), not a change in Git.
    Raises ClusterUnreachable."""
    try:
        return asyncio.run(_crd_deleting(plural, login))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise ClusterUnreachable(str(exc)) from exc


class EventPoster:
    """Posts the events of our (cluster-scoped) objects where ``kubectl describe`` finds them.

    kopf.event cannot: kopf posts every event with ``involvedObject.namespace`` set ("For cluster-scoped objects,
    use the current namespace from the current context", kopf/_cogs/clients/events.py; kopf issue 949), into the
    operator's own namespace, and ``kubectl describe orgunit NAME`` looks for ``involvedObject.namespace=``
    (empty), so it printed ``Events: <none>``. ``post`` may be called from kopf's handler threads; the events
    are posted in order from the operator's loop, like kopf's own event queue.
    """

    def __init__(self, api: Callable[[], KubeApi]) -> None:
        self._api = api
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[dict[str, Any], str, str, str]] | None = None

    def start(self) -> asyncio.Task[None]:
        """Start posting from the running loop (the operator's); returns the task to cancel at cleanup."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        return self._loop.create_task(self._run())

    def post(self, body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        meta = body.get("metadata") or {}
        involved = {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"),
                    "metadata": {"name": meta.get("name"), "uid": meta.get("uid")}}
        if self._loop is None or self._queue is None:
            log.warning("event %s for %s not posted: the event poster is not started", reason, meta.get("name"))
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (involved, type_, reason, message))

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._api() as api:
                    for involved, type_, reason, message in batch:
                        await api.post_event(involved, type_, reason, message)
            except (ClusterUnreachable, aiohttp.ClientError, OSError, TimeoutError) as exc:
                # Events are helpful but auxiliary (as kopf treats them): a failure is logged, not retried.
                log.warning("posting %d event(s) failed: %s", len(batch), exc)
