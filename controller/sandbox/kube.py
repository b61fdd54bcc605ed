"""A local Kubernetes API server for the sandbox, built on kmock's ``KubernetesEmulator``.

It serves CustomResourceDefinitions (given as ``apiextensions.k8s.io/v1`` dicts), the CRDs
themselves, the core ``events`` and ``namespaces`` resources and the schemaless built-in kinds of
:mod:`controller.sandbox.kube_builtin`, with the semantics that kopf, kubectl and ArgoCD rely on: a
global ``resourceVersion`` counter, ``generation``, the status subresource, merge/JSON patches with
optimistic concurrency, server-side apply and ``managedFields`` (:mod:`controller.sandbox.ssa`),
finalizers, watches that resume from a ``resourceVersion`` (410 Gone when too old) with bookmarks,
structural-schema pruning, defaulting and validation (incl. the CEL rules, by cel-python), the API server's
request rules (:mod:`controller.sandbox.kube_meta`: metadata, field selectors, list options,
namespaces), and ``meta.k8s.io/v1`` Table output for kubectl.

:class:`KubeEmulator` is assembled from its parts, each a class of its own module: storage (the served resources,
the objects and the reads: :mod:`~controller.sandbox.kube_storage`), watch (history and watch streams:
:mod:`~controller.sandbox.kube_watch`), admission (what a write must pass: :mod:`~controller.sandbox.kube_admission`),
apply (the writes: :mod:`~controller.sandbox.kube_apply`), a CRD's deletion as apiextensions-apiserver does
it (:mod:`~controller.sandbox.kube_crd_finalizer`) and routing (HTTP, discovery, OpenAPI, faults:
:mod:`~controller.sandbox.kube_routing`); here it registers the built-in kinds and stores the default objects.

Usage::

    sandbox = KubeSandbox(crds).start()
    kubeconfig = sandbox.write_kubeconfig(tmp_path / "kubeconfig")
    ...
    sandbox.stop()
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiohttp.web
import yaml

from controller.sandbox import _kube_table, kube_builtin, rbac
from controller.sandbox.kube_routing import KubeRouting
from controller.sandbox.kube_storage import CRD_GROUP, DEFAULT_HISTORY_SIZE, Obj, ResourceDef

__all__ = ["KubeEmulator", "KubeSandbox", "ResourceDef"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class KubeEmulator(KubeRouting):
    """An in-memory Kubernetes API server for CRDs, CRDs themselves, events and namespaces.

    All state lives on the event loop that serves the HTTP requests; use :class:`KubeSandbox`
    for thread-safe access from synchronous code.
    """

    def __init__(self, crds: Iterable[Mapping[str, Any]] = (), *,
                 history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        super().__init__(history_size=history_size)
        self._register(ResourceDef("", "v1", "namespaces", "Namespace", "namespace", False,
                                   short_names=["ns"], subresources=["status"],
                                   printer_columns=[{"name": "Status", "type": "string",
                                                     "jsonPath": ".status.phase"},
                                                    _kube_table.AGE_COLUMN]))
        self._register(ResourceDef("", "v1", "events", "Event", "event", True, short_names=["ev"],
                                   printer_columns=[
                                       {"name": "Last Seen", "type": "date", "jsonPath": ".lastTimestamp"},
                                       {"name": "Type", "type": "string", "jsonPath": ".type"},
                                       {"name": "Reason", "type": "string", "jsonPath": ".reason"},
                                       {"name": "Object", "type": "string",
                                        "jsonPath": ".involvedObject.name"},
                                       {"name": "Message", "type": "string", "jsonPath": ".message"},
                                   ]))
        self._register(ResourceDef(CRD_GROUP, "v1", "customresourcedefinitions", "CustomResourceDefinition",
                                   "customresourcedefinition", False, short_names=["crd", "crds"],
                                   categories=["api-extensions"], subresources=["status"],
                                   printer_columns=[{"name": "Created At", "type": "date", "x-sandbox-raw": True,
                                                     "jsonPath": ".metadata.creationTimestamp"}]))
        for b in kube_builtin.BUILTIN_KINDS:
            self._register(ResourceDef(b.group, b.version, b.plural, b.kind, b.kind.lower(), b.namespaced,
                                       short_names=list(b.short_names), categories=list(b.categories),
                                       subresources=list(b.subresources)))
        # RBAC (controller/sandbox/rbac.py): its kinds are served, the default policy is stored, every request
        # is authenticated and authorized in __call__.
        for spec in rbac.RESOURCES:
            self._register(ResourceDef(**spec))
        self.rbac = rbac.Rbac(lambda plural, ns: self._select(self.find_def(plural, rbac.RBAC_GROUP), ns, {}),
                              lambda plural, name, ns: self.get_object(plural, name, rbac.RBAC_GROUP, ns))
        for obj in rbac.bootstrap_policy():
            self._direct_create(f"{obj['kind'].lower()}s", obj, group=rbac.RBAC_GROUP)
        for ns in ("default", "kube-system"):
            self._direct_create("namespaces", {"metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]},
                                               "status": {"phase": "Active"}})
        for crd in crds:
            self._direct_create("customresourcedefinitions", copy.deepcopy(dict(crd)), group=CRD_GROUP)


class KubeSandbox:
    """The Kubernetes API emulator served on a local port from a daemon thread.

    Thread-safe accessors (``objects``, ``get``, ``events``, ``create``) run on the server's loop.
    """

    def __init__(self, crds: list[dict[str, Any]], host: str = "127.0.0.1", port: int = 0, *,
                 history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        self._crds = [copy.deepcopy(crd) for crd in crds]
        self._history_size = history_size
        self._host = host
        self._port = port
        self._emulator: KubeEmulator | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._url: str | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> KubeSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("The sandbox is not started.")
        return self._url

    @property
    def emulator(self) -> KubeEmulator:
        if self._emulator is None:
            raise RuntimeError("The sandbox is not started.")
        return self._emulator

    def start(self) -> KubeSandbox:
        if self._thread is not None:
            raise RuntimeError("The sandbox is already started.")
        self._thread = threading.Thread(target=self._run, name="kube-sandbox", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            raise RuntimeError(f"The Kubernetes sandbox failed to start: {self._error!r}") from self._error
        if self._url is None:
            raise RuntimeError("The Kubernetes sandbox did not start in time.")
        return self

    def stop(self) -> None:
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join(timeout=15)
        self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:
            self._error = e
            logger.exception("The Kubernetes sandbox crashed.")
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        self._emulator = KubeEmulator(self._crds, history_size=self._history_size)
        server = aiohttp.web.Server(self._emulator, access_log=None)
        runner = aiohttp.web.ServerRunner(server, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = aiohttp.web.TCPSite(runner, self._host, self._port)
            await site.start()
            address = runner.addresses[0]
            self._url = f"http://{self._host}:{address[1]}"
            self._ready.set()
            await self._stopping.wait()
            self._emulator.close_watches()
            await asyncio.sleep(0.05)
        finally:
            await runner.cleanup()

    def call(self, fn: Callable[[KubeEmulator], T]) -> T:
        """Run ``fn(emulator)`` on the server's loop (thread-safe) and return its result."""
        loop = self._loop
        if loop is None or self._emulator is None:
            raise RuntimeError("The sandbox is not started.")
        emulator = self._emulator

        async def runner() -> T:
            return fn(emulator)

        return asyncio.run_coroutine_threadsafe(runner(), loop).result(timeout=30)

    def objects(self, plural: str, group: str | None = None, namespace: str | None = None) -> list[Obj]:
        return self.call(lambda emu: emu.list_objects(plural, group, namespace))

    def get(self, plural: str, name: str, group: str | None = None, namespace: str | None = None) -> Obj | None:
        return self.call(lambda emu: emu.get_object(plural, name, group, namespace))

    def events(self, namespace: str | None = None) -> list[Obj]:
        return self.objects("events", "", namespace)

    def create(self, obj: Obj, namespace: str | None = None) -> Obj:
        """Create an object directly (kind/apiVersion pick the resource); status is kept."""
        api_version = str(obj.get("apiVersion", ""))
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""

        def create(emu: KubeEmulator) -> Obj:
            for rdef in emu.defs():
                if rdef.kind == obj.get("kind") and rdef.group == group:
                    return copy.deepcopy(emu._direct_create(rdef.plural, copy.deepcopy(obj), group=group,
                                                            namespace=namespace))
            raise KeyError(f"no resource for {api_version} {obj.get('kind')}")

        return self.call(create)

    @property
    def resource_version(self) -> int:
        return self.call(lambda emu: emu.resource_version)

    def service_account_token(self, namespace: str, name: str) -> str:
        """A bearer token that authenticates as the service account (see controller/sandbox/rbac.py)."""
        return self.call(lambda emu: emu.rbac.service_account_token(namespace, name))

    def write_kubeconfig(self, path: Path, token: str = rbac.ADMIN_TOKEN, namespace: str = "default") -> Path:
        """A kubeconfig for the sandbox; the token is the sandbox admin's (system:masters) unless given."""
        path = Path(path)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "awsorg-sandbox",
                          "cluster": {"server": self.url, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "awsorg-sandbox", "user": {"token": token}}],
            "contexts": [{"name": "awsorg-sandbox",
                          "context": {"cluster": "awsorg-sandbox", "user": "awsorg-sandbox",
                                      "namespace": namespace}}],
            "current-context": "awsorg-sandbox",
            "preferences": {},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path
