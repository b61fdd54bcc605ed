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

Usage::

    sandbox = KubeSandbox(crds).start()
    kubeconfig = sandbox.write_kubeconfig(tmp_path / "kubeconfig")
    ...
    sandbox.stop()
"""

from __future__ import annotations

import asyncio
import collections
import copy
import dataclasses
import datetime
import hashlib
import json
import logging
import random
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiohttp.web
import jsonpatch
import kmock
import yaml

from controller.api import schema as structural
from controller.sandbox import _kube_events, _kube_table, crd_admission, kube_builtin, kube_meta, rbac, ssa

__all__ = ["KubeEmulator", "KubeSandbox", "ResourceDef"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Obj = dict[str, Any]
StoreKey = tuple[str, str]  # (group, plural)
ObjKey = tuple[str | None, str]  # (namespace, name)

CRD_GROUP = "apiextensions.k8s.io"
DEFAULT_HISTORY_SIZE = 1000
WATCH_POLL_SECONDS = 2.0
SERVER_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-awsorg-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-08-13T00:00:00Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_SYSTEM_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                "deletionGracePeriodSeconds", "resourceVersion", "selfLink")
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
# negotiation.NewUnsupportedMediaTypeError lists them in this order (see KubeEmulator._patch).
_CR_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
_BUILTIN_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                        "application/strategic-merge-patch+json", "application/apply-patch+yaml")
_CRUD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, reason: str, message: str, details: Mapping[str, Any] | None = None) -> kmock.KubernetesError:
    return kmock.KubernetesError(status=status, reason=reason, message=message, details=dict(details or {}))


@dataclasses.dataclass
class ResourceDef:
    """One served resource (group/version/plural) with its discovery info and schema."""

    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: list[str] = dataclasses.field(default_factory=list)
    categories: list[str] = dataclasses.field(default_factory=list)
    verbs: list[str] = dataclasses.field(default_factory=lambda: list(_CRUD_VERBS))
    subresources: list[str] = dataclasses.field(default_factory=list)
    schema: dict[str, Any] | None = None
    printer_columns: list[dict[str, Any]] | None = None
    storage: bool = True
    custom: bool = False  # served from a CustomResourceDefinition
    selectable_fields: tuple[str, ...] = ()  # the CRD version's selectableFields, as field selector labels

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def store_key(self) -> StoreKey:
        return (self.group, self.plural)

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def url(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


@dataclasses.dataclass(frozen=True)
class _Path:
    group: str
    version: str
    plural: str | None
    namespace: str | None
    name: str | None
    subresource: str | None


def _parse_path(path: str) -> _Path | None:
    """Parse ``/api/v1/...`` and ``/apis/g/v/...`` paths (kmock's parser breaks on ``/api/v1/namespaces``)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces" and not (
            group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    plural = rest[0] if rest else None
    name = rest[1] if len(rest) > 1 else None
    subresource = "/".join(rest[2:]) or None
    return _Path(group, version, plural, namespace, name, subresource)


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: Obj = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _parse_label_selector(text: str) -> list[tuple[str, str, list[str]]]:
    """Parse ``k=v,k!=v,k,!k,k in (a,b),k notin (a,b)`` into (key, op, values)."""
    reqs: list[tuple[str, str, list[str]]] = []
    parts: list[str] = []
    depth, buf = 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(buf)
            buf = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        buf += ch
    parts.append(buf)
    for raw in (p.strip() for p in parts):
        if not raw:
            continue
        if m := re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", raw):
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",") if v.strip()]))
        elif "!=" in raw:
            k, v = raw.split("!=", 1)
            reqs.append((k.strip(), "!=", [v.strip()]))
        elif "=" in raw:
            k, v = raw.replace("==", "=").split("=", 1)
            reqs.append((k.strip(), "=", [v.strip()]))
        elif raw.startswith("!"):
            reqs.append((raw[1:].strip(), "!", []))
        else:
            reqs.append((raw, "exists", []))
    return reqs


def _labels_match(labels: Mapping[str, str], reqs: list[tuple[str, str, list[str]]]) -> bool:
    for key, op, values in reqs:
        present = key in labels
        if op == "=" and labels.get(key) != values[0]:
            return False
        if op == "!=" and present and labels[key] == values[0]:
            return False
        if op == "in" and labels.get(key) not in values:
            return False
        if op == "notin" and present and labels[key] in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
    return True


def _field_terms(rdef: ResourceDef, text: str) -> list[tuple[str, bool, str]]:
    """The fieldSelector's terms; a field the resource does not support is a 400 (see kube_meta)."""
    try:
        return kube_meta.field_selector(text, group=rdef.group, kind=rdef.kind, namespaced=rdef.namespaced,
                                        custom=rdef.custom, selectable=rdef.selectable_fields)
    except kube_meta.SelectorError as e:
        raise _error(400, "BadRequest", str(e)) from None


def _fields_match(rdef: ResourceDef, obj: Mapping[str, Any], terms: list[tuple[str, bool, str]]) -> bool:
    values = kube_meta.field_values(obj, [t[0] for t in terms], group=rdef.group, kind=rdef.kind)
    return all((values[label] == expected) == equal for label, equal, expected in terms)


def _invalid(qualified_kind: str, name: str, causes: list[structural.Cause], *, group: str,
             kind: str) -> kmock.KubernetesError:
    """errors.NewInvalid: 422 with each cause, the message "<Kind.group> "<name>" is invalid: <causes>"."""
    summary = causes[0].message if len(causes) == 1 else "[" + ", ".join(c.message for c in causes) + "]"
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind,
                               "causes": [c.as_dict() for c in causes]}
    if not name:
        del details["name"]
    return _error(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {summary}', details)


def _without_rv(obj: Mapping[str, Any]) -> Obj:
    clone = dict(obj)
    meta = dict(clone.get("metadata") or {})
    meta.pop("resourceVersion", None)
    clone["metadata"] = meta
    return clone


class KubeEmulator(kmock.KubernetesEmulator):
    """An in-memory Kubernetes API server for CRDs, CRDs themselves, events and namespaces.

    All state lives on the event loop that serves the HTTP requests; use :class:`KubeSandbox`
    for thread-safe access from synchronous code.
    """

    def __init__(self, crds: Iterable[Mapping[str, Any]] = (), *,
                 history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        super().__init__()
        self._defs: dict[tuple[str, str, str], ResourceDef] = {}
        self._store: dict[StoreKey, dict[ObjKey, Obj]] = collections.defaultdict(dict)
        self._history: dict[StoreKey, collections.deque[tuple[int, str, Obj]]] = {}
        self._floor: dict[StoreKey, int] = {}
        self._watchers: dict[StoreKey, set[asyncio.Queue[tuple[str, Obj] | None]]] = (
            collections.defaultdict(set))
        self._history_size = history_size
        self.bookmark_seconds = kube_meta.BOOKMARK_SECONDS  # tests shorten it
        self._rv = 0
        self._closing = False
        self._request_log: collections.deque[tuple[str, str, int]] = collections.deque(maxlen=2000)
        self.writes: collections.Counter[str] = collections.Counter()  # "PATCH orgunits/status" -> count
        self._faults: list[tuple[frozenset[str], tuple[int, ...], float]] = []
        self._fault_random = random.Random(7)

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

    # ------------------------------------------------------------------------------------------
    # Resource registry (discovery).
    # ------------------------------------------------------------------------------------------

    def _register(self, rdef: ResourceDef) -> None:
        self._defs[(rdef.group, rdef.version, rdef.plural)] = rdef
        self._history.setdefault(rdef.store_key, collections.deque(maxlen=self._history_size))
        self._floor.setdefault(rdef.store_key, self._rv)
        self.resources[kmock.resource(group=rdef.group, version=rdef.version, plural=rdef.plural)] = kmock.ResourceInfo(
            kind=rdef.kind, singular=rdef.singular, namespaced=rdef.namespaced,
            verbs=set(rdef.verbs), shortnames=set(rdef.short_names),
            categories=set(rdef.categories), subresources=set(rdef.subresources))

    def _register_crd(self, crd: Mapping[str, Any]) -> None:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group = spec.get("group", "")
        versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
        for v in versions:
            subresources = sorted((v.get("subresources") or spec.get("subresources") or {}).keys())
            schema = (v.get("schema") or spec.get("validation") or {}).get("openAPIV3Schema")
            columns = v.get("additionalPrinterColumns", spec.get("additionalPrinterColumns"))
            self._register(ResourceDef(
                group=group, version=v["name"], plural=names["plural"], kind=names["kind"],
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=list(names.get("shortNames") or []),
                categories=list(names.get("categories") or []),
                subresources=[s for s in subresources if s in ("status", "scale")],
                schema=copy.deepcopy(schema) if schema else None,
                printer_columns=copy.deepcopy(columns) if columns else None,
                storage=bool(v.get("storage", len(versions) == 1)),
                custom=True,
                selectable_fields=tuple(str(f.get("jsonPath", "")).lstrip(".")
                                        for f in v.get("selectableFields") or [] if isinstance(f, dict)),
            ))

    def _unregister_crd(self, crd: Mapping[str, Any]) -> None:
        spec = crd.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural")
        for key in [k for k in self._defs if k[0] == spec.get("group") and k[2] == plural]:
            del self._defs[key]
            self.resources.pop(kmock.resource(group=key[0], version=key[1], plural=key[2]), None)

    def _crd_status(self, crd: Mapping[str, Any]) -> Obj:
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        names.setdefault("singular", str(names.get("kind", "")).lower())
        names.setdefault("listKind", f"{names.get('kind', '')}List")
        now = _now()
        return {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
        }

    def defs(self) -> list[ResourceDef]:
        return list(self._defs.values())

    def find_def(self, plural: str, group: str | None = None, version: str | None = None) -> ResourceDef:
        for rdef in self._defs.values():
            if rdef.plural == plural and (group is None or rdef.group == group) and (
                    version is None or rdef.version == version):
                return rdef
        raise KeyError(f"unknown resource {plural}.{group}/{version}")

    # ------------------------------------------------------------------------------------------
    # Discovery, served through kmock's fallback routing.
    # ------------------------------------------------------------------------------------------

    def _group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for rdef in self._defs.values():
            versions = groups.setdefault(rdef.group, [])
            if rdef.version not in versions:
                if rdef.storage:
                    versions.insert(0, rdef.version)
                else:
                    versions.append(rdef.version)
        return groups

    async def _serve_root(self, request: kmock.Request) -> dict[str, Any]:
        paths = {"/api", "/api/v1", "/apis", "/version", "/openapi/v2", "/openapi/v3", "/healthz"}
        for group, versions in self._group_versions().items():
            if group:
                paths.add(f"/apis/{group}")
                paths.update(f"/apis/{group}/{v}" for v in versions)
        return {"paths": sorted(paths)}

    async def _serve_server_version(self, request: kmock.Request) -> dict[str, Any]:
        return dict(SERVER_VERSION)

    async def _serve_api(self, request: kmock.Request) -> dict[str, Any]:
        host = request.url.host or "127.0.0.1"
        port = request.url.port or 80
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{host}:{port}"}]}

    def _api_group(self, group: str, versions: list[str]) -> dict[str, Any]:
        return {
            "name": group,
            "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
            "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]},
        }

    async def _serve_apis(self, request: kmock.Request) -> dict[str, Any]:
        groups = [self._api_group(g, vs) for g, vs in sorted(self._group_versions().items()) if g]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    async def _serve_group(self, request: kmock.Request) -> dict[str, Any]:
        group = request.url.path.strip("/").split("/")[1]
        versions = self._group_versions().get(group)
        if not versions or not group:
            raise _error(404, "NotFound", "the server could not find the requested resource")
        return {"kind": "APIGroup", "apiVersion": "v1", **self._api_group(group, versions)}

    async def _serve_version(self, request: kmock.Request) -> dict[str, Any]:
        parsed = _parse_path(request.url.path)
        if parsed is None:
            raise _error(404, "NotFound", "the server could not find the requested resource")
        rdefs = [r for r in self._defs.values() if (r.group, r.version) == (parsed.group, parsed.version)]
        if not rdefs:
            raise _error(404, "NotFound", "the server could not find the requested resource")
        resources: list[dict[str, Any]] = []
        for rdef in sorted(rdefs, key=lambda r: r.plural):
            entry: dict[str, Any] = {
                "name": rdef.plural, "singularName": rdef.singular, "namespaced": rdef.namespaced,
                "kind": rdef.kind, "verbs": list(rdef.verbs),
            }
            if rdef.short_names:
                entry["shortNames"] = list(rdef.short_names)
            if rdef.categories:
                entry["categories"] = list(rdef.categories)
            resources.append(entry)
            for sub in rdef.subresources:
                resources.append({"name": f"{rdef.plural}/{sub}", "singularName": "",
                                  "namespaced": rdef.namespaced, "kind": rdef.kind,
                                  "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": rdefs[0].api_version, "resources": resources}

    # ------------------------------------------------------------------------------------------
    # OpenAPI: enough for kubectl to see that server-side field validation is supported.
    # ------------------------------------------------------------------------------------------

    def _openapi_gv_doc(self, group: str, version: str) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = {}
        for rdef in self._defs.values():
            if (rdef.group, rdef.version) != (group, version):
                continue
            gvk = {"group": rdef.group, "version": rdef.version, "kind": rdef.kind}
            rev_group = ".".join(reversed(rdef.group.split("."))) if rdef.group else "io.k8s.api.core"
            schema_name = f"{rev_group}.{rdef.version}.{rdef.kind}"
            schema = copy.deepcopy(rdef.schema) if rdef.schema else {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True}
            schema["x-kubernetes-group-version-kind"] = [gvk]
            schemas[schema_name] = schema
            ref = {"$ref": f"#/components/schemas/{schema_name}"}
            response = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
            params = [
                {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
            ]
            item_ops = {
                verb: {"operationId": f"{verb}{rdef.kind}", "parameters": params, "responses": response,
                       "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}
                for verb, action in (("get", "get"), ("put", "put"), ("patch", "patch"), ("delete", "delete"))
            }
            list_ops = {
                verb: {"operationId": f"{verb}{rdef.kind}List", "parameters": params, "responses": response,
                       "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}
                for verb, action in (("get", "list"), ("post", "post"))
            }
            base = rdef.url().removeprefix("/")
            if rdef.namespaced:
                prefix = f"/apis/{rdef.group}/{rdef.version}" if rdef.group else f"/api/{rdef.version}"
                base = f"{prefix}/namespaces/{{namespace}}/{rdef.plural}".removeprefix("/")
            paths[f"/{base}"] = list_ops
            paths[f"/{base}/{{name}}"] = item_ops
            for sub in rdef.subresources:
                paths[f"/{base}/{{name}}/{sub}"] = item_ops
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": SERVER_VERSION["gitVersion"]},
                "paths": paths, "components": {"schemas": schemas}}

    def _openapi_root(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for group, versions in self._group_versions().items():
            for version in versions:
                key = f"apis/{group}/{version}" if group else f"api/{version}"
                doc = json.dumps(self._openapi_gv_doc(group, version), sort_keys=True).encode()
                digest = hashlib.sha512(doc).hexdigest()[:64].upper()
                paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
        return {"paths": paths}

    # ------------------------------------------------------------------------------------------
    # Request entry points.
    # ------------------------------------------------------------------------------------------

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        body = await raw_request.read()
        parsed = _parse_path(raw_request.path)
        data: Any = None
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
        request = kmock.Request(
            method=raw_request.method, url=raw_request.url, params=dict(raw_request.query),
            headers=dict(raw_request.headers), body=body, text=body.decode("utf-8", "replace"), data=data,
            resource=None if parsed is None else kmock.resource(
                group=parsed.group, version=parsed.version, plural=parsed.plural),
            namespace=None if parsed is None else parsed.namespace,
            name=None if parsed is None else parsed.name,
            subresource=None if parsed is None else parsed.subresource,
            raw_request=raw_request,
        )
        refused = self.rbac.check(raw_request.method, raw_request.path, raw_request.query,
                                  raw_request.headers.get("Authorization"))
        if refused is not None:
            self._request_log.append((raw_request.method, str(raw_request.rel_url), refused[0]))
            return aiohttp.web.json_response(refused[1], status=refused[0])
        # kmock's routing finds reactions by the requests recorded on the root; keep that record bounded.
        self._requests.append(request)
        if len(self._requests) > 2000:
            del self._requests[:1000]
        if raw_request.method not in ("GET", "HEAD"):
            what = f"{parsed.plural}/{parsed.subresource}" if parsed and parsed.subresource else (
                parsed.plural if parsed else raw_request.path)
            self.writes[f"{raw_request.method} {what}"] += 1
        fault = self._fault(raw_request.method)
        response = await (self._render_error(fault) if fault is not None else self._handle(request))
        self._request_log.append((raw_request.method, str(raw_request.rel_url), response.status))
        return response

    # ------------------------------------------------------------------------------------------
    # Trouble, as a real API server shows it: requests answered 5xx or 409 without effect, watches ended.
    # ------------------------------------------------------------------------------------------

    def inject_faults(self, methods: Iterable[str] = ("PATCH",), statuses: Iterable[int] = (500, 409),
                      ratio: float = 0.5) -> None:
        """Answer this share of the requests with these methods with one of ``statuses``, changing nothing."""
        self._faults.append((frozenset(methods), tuple(statuses), ratio))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _fault(self, method: str) -> kmock.KubernetesError | None:
        for methods, statuses, ratio in self._faults:
            if method in methods and self._fault_random.random() < ratio:
                status = self._fault_random.choice(statuses)
                if status == 409:
                    return _error(409, "Conflict", "Operation cannot be fulfilled: the object has been modified; "
                                  "please apply your changes to the latest version and try again")
                return _error(status, "InternalError", "Internal error occurred: injected by the sandbox")
        return None

    def drop_watches(self) -> None:
        """End every open watch stream, as a load balancer or an API server restart does; clients re-watch."""
        for queues in self._watchers.values():
            for queue in queues:
                queue.put_nowait(None)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        try:
            path = request.url.path.rstrip("/") or "/"
            parsed = _parse_path(path)
            if parsed is not None and parsed.plural is not None:
                return await self._handle_resource(request, parsed)
            if request.method.value != "GET":
                raise _error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            if path in ("/healthz", "/livez", "/readyz"):
                return aiohttp.web.Response(text="ok")
            if path == "/openapi/v3":
                return aiohttp.web.json_response(self._openapi_root())
            if path.startswith("/openapi/v3/"):
                gv = path.removeprefix("/openapi/v3/").split("/")
                group, version = ("", gv[1]) if gv[0] == "api" else (gv[1], gv[2]) if len(gv) > 2 else ("", "")
                if version not in self._group_versions().get(group, []):
                    raise _error(404, "NotFound", "the server could not find the requested resource")
                return aiohttp.web.json_response(self._openapi_gv_doc(group, version))
            if path in ("/openapi/v2", "/swagger.json"):
                raise _error(404, "NotFound", "the server could not find the requested resource")
            if path in ("/", "/version", "/api", "/apis") or parsed is not None or path.startswith("/apis/"):
                response: aiohttp.web.StreamResponse = await kmock.RawHandler._handle(self, request)
                return response
            raise _error(404, "NotFound", "the server could not find the requested resource")
        except kmock.KubernetesError as e:
            return await self._render_error(e)
        except Exception as e:
            logger.exception("Unexpected error while serving %s %s", request.method.value, request.url)
            return await self._render_error(e)

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, kmock.KubernetesError):
            body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": exc.message or "", "reason": exc.reason or "", "details": exc.details or {},
                    "code": exc.status}
            if not body["details"]:
                del body["details"]
            return aiohttp.web.json_response(body, status=exc.status)
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f"Internal error occurred: {exc!r}", "reason": "InternalError", "code": 500}
        return aiohttp.web.json_response(body, status=500)

    async def _handle_resource(self, request: kmock.Request, parsed: _Path) -> aiohttp.web.StreamResponse:
        assert parsed.plural is not None
        rdef = self._defs.get((parsed.group, parsed.version, parsed.plural))
        if rdef is None:
            raise _error(404, "NotFound", "the server could not find the requested resource")
        if parsed.namespace is not None and not rdef.namespaced:
            raise _error(404, "NotFound", "the server could not find the requested resource")
        if parsed.subresource is not None and (parsed.subresource not in rdef.subresources
                                               or parsed.subresource == "scale"):
            raise _error(404, "NotFound", "the server could not find the requested resource")
        method = request.method.value
        params: Mapping[str, str] = request.params
        accept = _kube_table.parse_accept(request.headers.get("Accept", request.headers.get("accept", "")))
        name = parsed.name

        watching = method == "GET" and params.get("watch") in ("true", "1", "True")
        listing = watching or (method == "GET" and name is None)
        if listing and (causes := kube_meta.list_options_causes(params, watch=watching)):
            raise _invalid("ListOptions.meta.k8s.io", "", causes, group="meta.k8s.io", kind="ListOptions")
        if watching:
            return await self._serve_watch_stream(request, rdef, parsed, accept)
        if method == "GET" and name is None:
            return self._respond_list(rdef, parsed.namespace, params, accept)
        if method == "GET" and name is not None:
            obj = self._get_or_404(rdef, parsed.namespace, name)
            return self._respond_obj(rdef, obj, accept, params)
        content_type = request.headers.get("Content-Type", request.headers.get("content-type", ""))
        content_type = content_type.split(";")[0].strip()
        if method in ("POST", "PUT", "PATCH"):
            if causes := kube_meta.write_options_causes(params, method, content_type):
                kind = "PatchOptions" if method == "PATCH" else "CreateOptions" if method == "POST" else "UpdateOptions"
                raise _invalid(f"{kind}.meta.k8s.io", "", causes, group="meta.k8s.io", kind=kind)
            if not params.get("fieldManager") and content_type != ssa.APPLY:
                agent = request.headers.get("User-Agent", request.headers.get("user-agent", ""))
                params = {**params, "fieldManager": kube_meta.manager_from_user_agent(agent)}
        if method == "PATCH" and name is not None and content_type == ssa.APPLY:
            obj, created = self._apply(rdef, parsed.namespace, name, parsed.subresource, request.body, params)
            return self._respond_obj(rdef, obj, None, params, status=201 if created else 200)
        if method == "POST" and name is None:
            obj = self._create(rdef, parsed.namespace, self._json_body(request), params)
            return self._respond_obj(rdef, obj, None, params, status=201)
        if method == "PUT" and name is not None:
            obj = self._replace(rdef, parsed.namespace, name, parsed.subresource, self._json_body(request), params)
            return self._respond_obj(rdef, obj, None, params)
        if method == "PATCH" and name is not None:
            obj = self._patch(rdef, parsed.namespace, name, parsed.subresource, content_type, request.body, params)
            return self._respond_obj(rdef, obj, None, params)
        if method == "DELETE" and name is not None and parsed.subresource is None:
            options = request.data if isinstance(request.data, dict) else {}
            result = self._delete(rdef, parsed.namespace, name, options, params)
            return aiohttp.web.json_response(result)
        if method == "DELETE" and name is None:
            return aiohttp.web.json_response(self._delete_collection(rdef, parsed.namespace, params))
        raise _error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    @staticmethod
    def _json_body(request: kmock.Request) -> Obj:
        try:
            data = json.loads(request.body or b"null")
        except ValueError:
            try:
                data = yaml.safe_load(request.body)
            except yaml.YAMLError as e:
                raise _error(400, "BadRequest", f"the body of the request could not be decoded: {e}") from None
        if not isinstance(data, dict):
            raise _error(400, "BadRequest", "the body of the request must be a JSON object")
        return data

    def _respond_obj(self, rdef: ResourceDef, obj: Obj, accept: tuple[str, str] | None,
                     params: Mapping[str, str], *, status: int = 200) -> aiohttp.web.StreamResponse:
        if accept is not None and accept[0] == "Table":
            table = _kube_table.to_table([obj], rdef.printer_columns, resource_version=str(self._rv),
                                         include_object=params.get("includeObject", "Metadata"),
                                         version=accept[1])
            return aiohttp.web.json_response(table, status=status)
        if accept is not None and accept[0] == "PartialObjectMetadata":
            return aiohttp.web.json_response({"kind": "PartialObjectMetadata",
                                              "apiVersion": f"meta.k8s.io/{accept[1]}",
                                              "metadata": obj.get("metadata", {})}, status=status)
        return aiohttp.web.json_response(obj, status=status)

    # ------------------------------------------------------------------------------------------
    # Reading.
    # ------------------------------------------------------------------------------------------

    def _key(self, rdef: ResourceDef, namespace: str | None, name: str) -> ObjKey:
        return (namespace if rdef.namespaced else None, name)

    def _not_found(self, rdef: ResourceDef, name: str) -> kmock.KubernetesError:
        return _error(404, "NotFound", f'{rdef.group_resource} "{name}" not found',
                      {"name": name, "group": rdef.group, "kind": rdef.plural})

    def _get_or_404(self, rdef: ResourceDef, namespace: str | None, name: str) -> Obj:
        if rdef.namespaced and namespace is None:
            raise self._not_found(rdef, name)
        obj = self._store[rdef.store_key].get(self._key(rdef, namespace, name))
        if obj is None:
            raise self._not_found(rdef, name)
        return self._present(rdef, obj)

    def _present(self, rdef: ResourceDef, obj: Obj) -> Obj:
        """The object as served by this version (no conversion: only apiVersion differs)."""
        if obj.get("apiVersion") == rdef.api_version:
            return obj
        return {**obj, "apiVersion": rdef.api_version}

    def _select(self, rdef: ResourceDef, namespace: str | None, params: Mapping[str, str]) -> list[Obj]:
        labels = _parse_label_selector(params.get("labelSelector", ""))
        fields = _field_terms(rdef, params.get("fieldSelector", ""))
        result: list[Obj] = []
        for (ns, _), obj in sorted(self._store[rdef.store_key].items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            if namespace is not None and ns != namespace:
                continue
            if labels and not _labels_match((obj.get("metadata") or {}).get("labels") or {}, labels):
                continue
            if fields and not _fields_match(rdef, obj, fields):
                continue
            result.append(self._present(rdef, obj))
        return result

    def _respond_list(self, rdef: ResourceDef, namespace: str | None, params: Mapping[str, str],
                      accept: tuple[str, str] | None) -> aiohttp.web.StreamResponse:
        items = self._select(rdef, namespace, params)
        if accept is not None and accept[0] == "Table":
            return aiohttp.web.json_response(_kube_table.to_table(
                items, rdef.printer_columns, resource_version=str(self._rv),
                include_object=params.get("includeObject", "Metadata"), version=accept[1]))
        if accept is not None and accept[0] == "PartialObjectMetadata":
            return aiohttp.web.json_response({
                "kind": "PartialObjectMetadataList", "apiVersion": f"meta.k8s.io/{accept[1]}",
                "metadata": {"resourceVersion": str(self._rv)},
                "items": [{"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{accept[1]}",
                           "metadata": obj.get("metadata", {})} for obj in items]})
        return aiohttp.web.json_response({
            "kind": f"{rdef.kind}List",
            "apiVersion": rdef.api_version,
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        })

    # ------------------------------------------------------------------------------------------
    # Writing.
    # ------------------------------------------------------------------------------------------

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _emit(self, rdef: ResourceDef, event_type: str, obj: Obj) -> None:
        key = rdef.store_key
        history = self._history.setdefault(key, collections.deque(maxlen=self._history_size))
        if history.maxlen is not None and len(history) >= history.maxlen:
            self._floor[key] = history[0][0]
        history.append((int(obj["metadata"]["resourceVersion"]), event_type, obj))
        for queue in list(self._watchers.get(key, ())):
            queue.put_nowait((event_type, obj))

    def _admit(self, rdef: ResourceDef, obj: Obj, old: Obj | None, *, subresource: str | None,
               params: Mapping[str, str]) -> list[str]:
        """Prune, default and validate ``obj`` in place; raise 422/400 as the API server does."""
        causes: list[structural.Cause] = []
        warnings: list[str] = []
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        if old is None and rdef.group == rbac.RBAC_GROUP:
            causes.extend(rbac.name_causes(name))
        elif old is None and (not _NAME_RE.match(name) or len(name) > 253):
            causes.append(structural.Cause(
                "FieldValueInvalid", "metadata.name",
                f"Invalid value: {json.dumps(name)}: a lowercase RFC 1123 subdomain must consist of lower case "
                "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
                "(e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))
        for field in ("labels", "annotations"):
            value = meta.get(field)
            if value is not None and (not isinstance(value, dict)
                                      or not all(isinstance(v, str) for v in value.values())):
                causes.append(structural.Cause("FieldValueTypeInvalid", f"metadata.{field}",
                                               f"Invalid value: {json.dumps(value)}: must be a map of strings"))
        causes.extend(kube_meta.metadata_causes(meta, None if old is None else old.get("metadata") or {}))
        if rdef.plural == "customresourcedefinitions" and subresource != "status":
            causes.extend(crd_admission.validate_crd(obj, old))  # as apiextensions-apiserver admits a CRD
        if rdef.schema is not None:
            pruned = structural.prune(obj, rdef.schema)
            if rdef.has_status:
                pruned = [p for p in pruned if (p == "status" or p.startswith(("status.", "status[")))
                          == (subresource == "status")]
            if pruned:
                unknown = ", ".join(f'unknown field "{p}"' for p in pruned)
                directive = params.get("fieldValidation", "")
                if directive == "Strict":
                    raise _error(400, "BadRequest",
                                 f'{rdef.kind} in version "{rdef.version}" cannot be handled as a {rdef.kind}: '
                                 f"strict decoding error: {unknown}")
                if directive == "Warn":
                    warnings.extend(f'unknown field "{p}"' for p in pruned)
            structural.default(obj, rdef.schema)
            found = structural.validate(obj, rdef.schema, old, has_old=old is not None)
            if rdef.has_status:
                found = [c for c in found if (c.field == "status" or c.field.startswith(("status.", "status[")))
                         == (subresource == "status")]
            causes.extend(found)
        if rdef.group == "" and rdef.plural == "events":
            causes.extend(_kube_events.validate(obj))
        if causes:
            raise _invalid(rdef.group_kind, name, causes, group=rdef.group, kind=rdef.kind)
        return warnings

    def _create(self, rdef: ResourceDef, namespace: str | None, body: Obj, params: Mapping[str, str], *,
                managed: list[Obj] | None = None) -> Obj:
        obj = copy.deepcopy(body)
        for field, expected in (("apiVersion", rdef.api_version), ("kind", rdef.kind)):
            given = obj.get(field)
            if given and given != expected:
                raise _error(400, "BadRequest", f"the {field} in the data ({given}) does not match the "
                                                f"expected {field} ({expected})")
            obj[field] = expected
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        if rdef.namespaced:
            given_ns = meta.get("namespace")
            if namespace is not None and given_ns and given_ns != namespace:
                raise _error(400, "BadRequest", "the namespace of the provided object does not match the "
                                                "namespace sent on the request")
            namespace = namespace or given_ns or "default"
            meta["namespace"] = namespace
            self._check_namespace(rdef, namespace, str(meta.get("name") or ""))
        else:
            meta.pop("namespace", None)
            namespace = None
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix:
                raise _error(422, "Invalid", f'{rdef.group_kind} "" is invalid: metadata.name: Required value: '
                                             "name or generateName is required", {
                                 "kind": rdef.kind, "group": rdef.group,
                                 "causes": [{"reason": "FieldValueRequired", "field": "metadata.name",
                                             "message": "Required value: name or generateName is required"}]})
            meta["name"] = prefix + "".join(random.choices(_GENERATE_CHARS, k=5))
        for field in (*_SYSTEM_META, "managedFields"):
            meta.pop(field, None)
        if rdef.has_status:
            obj.pop("status", None)
        if rdef.plural == "customresourcedefinitions":
            obj["status"] = self._crd_status(obj)
        self._admit(rdef, obj, None, subresource=None, params=params)
        meta["managedFields"] = managed if managed is not None else ssa.track_update(
            None, obj, manager=params.get("fieldManager", ""), api_version=rdef.api_version, subresource=None,
            has_status=rdef.has_status, schema=rdef.schema, now=_now())
        if not meta["managedFields"]:
            del meta["managedFields"]
        key = self._key(rdef, namespace, meta["name"])
        if key in self._store[rdef.store_key]:
            raise _error(409, "AlreadyExists", f'{rdef.group_resource} "{meta["name"]}" already exists',
                         {"name": meta["name"], "group": rdef.group, "kind": rdef.plural})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        if params.get("dryRun"):
            return obj
        meta["resourceVersion"] = self._next_rv()
        self._store[rdef.store_key][key] = obj
        if rdef.plural == "customresourcedefinitions":
            self._register_crd(obj)
        self._emit(rdef, "ADDED", obj)
        return obj

    def _check_namespace(self, rdef: ResourceDef, namespace: str, name: str) -> None:
        """Refuse to create an object in a namespace that does not exist, or is being deleted.

        kubernetes plugin/pkg/admission/namespace/lifecycle/admission.go (NamespaceLifecycle, on by default):
            // refuse to operate on non-existent namespaces
            if !exists || forceLiveLookup {
                // as a last resort, make a call directly to storage
                namespace, err = l.client.CoreV1().Namespaces().Get(context.TODO(), a.GetNamespace(), ...)
                switch {
                case errors.IsNotFound(err):
                    return err                      // namespaces "<ns>" not found
            ...
            // ensure that we're not trying to create objects in terminating namespaces
            if a.GetOperation() == admission.Create {
                if namespace.Status.Phase != v1.NamespaceTerminating { return nil }
                err := admission.NewForbidden(a, fmt.Errorf("unable to create new content in namespace %s
                    because it is being terminated", a.GetNamespace()))
        """
        ns = self._store[("", "namespaces")].get((None, namespace))
        if ns is None:
            raise _error(404, "NotFound", f'namespaces "{namespace}" not found',
                         {"name": namespace, "kind": "namespaces"})
        if ns["metadata"].get("deletionTimestamp") or (ns.get("status") or {}).get("phase") == "Terminating":
            raise _error(403, "Forbidden", f'{rdef.group_resource} "{name}" is forbidden: unable to create new '
                                           f"content in namespace {namespace} because it is being terminated",
                         {"name": name, "group": rdef.group, "kind": rdef.plural})

    def _conflict(self, rdef: ResourceDef, name: str, why: str = "the object has been modified; please apply "
                  "your changes to the latest version and try again") -> kmock.KubernetesError:
        return _error(409, "Conflict", f'Operation cannot be fulfilled on {rdef.group_resource} "{name}": {why}',
                      {"name": name, "group": rdef.group, "kind": rdef.plural})

    def _update(self, rdef: ResourceDef, old: Obj, candidate: Obj, subresource: str | None,
                params: Mapping[str, str], expected_rv: str | None, *, managed: list[Obj] | None = None) -> Obj:
        old_meta = old["metadata"]
        name = old_meta["name"]
        if expected_rv and expected_rv != old_meta.get("resourceVersion"):
            raise self._conflict(rdef, name)
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in candidate:
                new["status"] = copy.deepcopy(candidate["status"])
            else:
                new.pop("status", None)
        else:
            new = copy.deepcopy(candidate)
            new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
            meta = new.get("metadata")
            if not isinstance(meta, dict):
                meta = new["metadata"] = {}
            if meta.get("name", name) != name:
                raise _error(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match "
                                                f"the name on the URL ({name})")
            meta["name"] = name
            if rdef.namespaced:
                meta["namespace"] = old_meta.get("namespace")
            else:
                meta.pop("namespace", None)
            for field in _SYSTEM_META:
                if field in old_meta:
                    meta[field] = old_meta[field]
                else:
                    meta.pop(field, None)
            meta.pop("managedFields", None)
            if rdef.has_status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
        self._admit(rdef, new, old, subresource=subresource, params=params)
        new["metadata"]["managedFields"] = managed if managed is not None else ssa.track_update(
            old, new, manager=params.get("fieldManager", ""), api_version=rdef.api_version, subresource=subresource,
            has_status=rdef.has_status, schema=rdef.schema, now=_now())
        if not new["metadata"]["managedFields"]:
            del new["metadata"]["managedFields"]
        if _without_rv(new) == _without_rv(old):
            return old  # a no-op write: no new resourceVersion, no watch event (as the API server does)

        def spec_part(o: Obj) -> Obj:
            return {k: v for k, v in o.items() if k != "metadata" and not (rdef.has_status and k == "status")}

        if spec_part(new) != spec_part(old):
            new["metadata"]["generation"] = int(old_meta.get("generation", 1)) + 1
        if params.get("dryRun"):
            return new
        new["metadata"]["resourceVersion"] = self._next_rv()
        key = self._key(rdef, old_meta.get("namespace"), name)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            del self._store[rdef.store_key][key]
            self._after_delete(rdef, new)
            self._emit(rdef, "DELETED", new)
        else:
            self._store[rdef.store_key][key] = new
            if rdef.plural == "customresourcedefinitions":
                self._register_crd(new)
            self._emit(rdef, "MODIFIED", new)
        return new

    def _replace(self, rdef: ResourceDef, namespace: str | None, name: str, subresource: str | None,
                 body: Obj, params: Mapping[str, str]) -> Obj:
        old = self._get_or_404(rdef, namespace, name)
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        if meta.get("name") not in (None, name):
            raise _error(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the "
                                            f"name on the URL ({name})")
        if not meta.get("resourceVersion") and (rdef.custom or rdef.group == CRD_GROUP):
            message, details = kube_meta.missing_resource_version(rdef.group_resource, rdef.group, rdef.plural, name)
            raise _error(422, "Invalid", message, details)
        return self._update(rdef, old, body, subresource, params, str(meta.get("resourceVersion") or "") or None)

    def _patch(self, rdef: ResourceDef, namespace: str | None, name: str, subresource: str | None,
               content_type: str, raw: bytes, params: Mapping[str, str]) -> Obj:
        # apiserver pkg/endpoints/handlers/patch.go refuses a patch type the resource does not list:
        #     if !sets.NewString(patchTypes...).Has(contentType) {
        #         scope.err(negotiation.NewUnsupportedMediaTypeError(patchTypes), w, req)
        # and apiextensions-apiserver pkg/apiserver/customresource_handler.go lists, for custom resources:
        #     supportedTypes := []string{string(types.JSONPatchType), string(types.MergePatchType),
        #         string(types.ApplyYAMLPatchType)}
        # (no strategic merge patch: it needs Go struct tags a CR does not have; built-in kinds have it).
        accepted = _CR_PATCH_TYPES if rdef.custom else _BUILTIN_PATCH_TYPES
        if content_type not in accepted:
            raise _error(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                      f"accepted media types include: {', '.join(accepted)}")
        old = self._get_or_404(rdef, namespace, name)
        try:
            patch = json.loads(raw or b"null")
        except ValueError as e:
            raise _error(400, "BadRequest", f"error decoding patch: {e}") from None
        expected_rv: str | None = None
        if content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(patch, dict):
                raise _error(400, "BadRequest", "the patch must be a JSON object")
            meta_patch = patch.get("metadata")
            if isinstance(meta_patch, dict) and meta_patch.get("resourceVersion"):
                expected_rv = str(meta_patch["resourceVersion"])
            candidate = _merge_patch(old, patch)
        elif content_type == "application/json-patch+json":
            if not isinstance(patch, list):
                raise _error(400, "BadRequest", "the JSON patch must be a list of operations")
            try:
                candidate = jsonpatch.JsonPatch(patch).apply(copy.deepcopy(old))
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError,
                    IndexError, ValueError) as e:
                raise _error(422, "Invalid", str(e) or repr(e)) from None
            if not isinstance(candidate, dict):
                raise _error(422, "Invalid", "the patched object is not a JSON object")
            new_rv = (candidate.get("metadata") or {}).get("resourceVersion")
            if new_rv and new_rv != old["metadata"].get("resourceVersion"):
                expected_rv = str(new_rv)
        else:
            raise _error(415, "UnsupportedMediaType", f"{content_type} is served by _apply")
        return self._update(rdef, old, candidate, subresource, params, expected_rv)

    def _apply(self, rdef: ResourceDef, namespace: str | None, name: str, subresource: str | None, raw: bytes,
               params: Mapping[str, str]) -> tuple[Obj, bool]:
        """Server-side apply (see ssa.py): (the object, whether it was created).

        apiserver pkg/endpoints/handlers/patch.go: an apply may create the object ("p.forceAllowCreate = true"
        for types.ApplyPatchType; the answer is then 201), and applyPatcher decodes the body as YAML:
            if err := yaml.Unmarshal(p.patch, &patchObj.Object); err != nil {
                return nil, errors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
        apimachinery pkg/util/managedfields/internal/structuredmerge.go (Apply):
            if patchVersion := patchObj.GetObjectKind().GroupVersionKind().GroupVersion();
                    patchVersion != f.groupVersion {
                return nil, nil, errors.NewBadRequest(fmt.Sprintf("Incorrect version specified in apply patch. "+
                    "Specified patch version: %s, expected: %s", patchVersion, f.groupVersion))
            if patchObjMeta.GetManagedFields() != nil {
                return nil, nil, errors.NewBadRequest("metadata.managedFields must be nil")
        and a conflict is errors.NewApplyConflict(causes, getConflictMessage(conflicts)): 409, reason Conflict.
        """
        if rdef.namespaced and namespace is None:
            raise self._not_found(rdef, name)
        try:
            config = yaml.safe_load(raw.decode("utf-8", "replace")) if raw else {}
        except yaml.YAMLError as e:
            raise _error(400, "BadRequest", f"error decoding YAML: {e}") from None
        if not isinstance(config, dict):
            raise _error(400, "BadRequest", "error decoding YAML: the apply patch must be an object")
        if config.get("apiVersion") != rdef.api_version:
            raise _error(400, "BadRequest", "Incorrect version specified in apply patch. Specified patch version: "
                                            f"{config.get('apiVersion') or ''}, expected: {rdef.api_version}")
        if config.get("kind") != rdef.kind:
            raise _error(400, "BadRequest", f"the kind in the data ({config.get('kind') or ''}) does not match the "
                                            f"expected kind ({rdef.kind})")
        meta = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        if meta.get("managedFields") is not None:
            raise _error(400, "BadRequest", "metadata.managedFields must be nil")
        if meta.get("name") not in (None, name):
            raise _error(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the "
                                            f"name on the URL ({name})")
        old = self._store[rdef.store_key].get(self._key(rdef, namespace, name))
        if old is None and subresource is not None:
            raise self._not_found(rdef, name)
        live: Obj = self._present(rdef, old) if old is not None else {
            "apiVersion": rdef.api_version, "kind": rdef.kind,
            "metadata": {"name": name, **({"namespace": namespace} if rdef.namespaced else {})}}
        try:
            merged, managed = ssa.apply(live, config, manager=params.get("fieldManager", ""),
                                        force=params.get("force") in ("true", "1", "True"),
                                        api_version=rdef.api_version, subresource=subresource,
                                        has_status=rdef.has_status, schema=rdef.schema, now=_now())
        except ssa.ApplyConflict as e:
            raise _error(409, "Conflict", str(e), {"causes": e.causes()}) from None
        if old is None:
            return self._create(rdef, namespace, merged, params, managed=managed), True
        expected_rv = str(meta.get("resourceVersion") or "") or None
        return self._update(rdef, live, merged, subresource, params, expected_rv, managed=managed), False

    def _after_delete(self, rdef: ResourceDef, obj: Obj) -> None:
        if rdef.plural == "customresourcedefinitions":
            self._unregister_crd(obj)
            spec = obj.get("spec") or {}
            key = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
            self._store.pop(key, None)  # the API server deletes all objects of a deleted CRD

    def _delete(self, rdef: ResourceDef, namespace: str | None, name: str, options: Mapping[str, Any],
                params: Mapping[str, str]) -> Obj:
        old = self._get_or_404(rdef, namespace, name)
        meta = old["metadata"]
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
            raise self._conflict(rdef, name, f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                                             f"UID in object meta: {meta.get('uid')}")
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != meta.get("resourceVersion"):
            raise self._conflict(rdef, name)
        dry_run = bool(params.get("dryRun") or options.get("dryRun"))
        key = self._key(rdef, namespace, name)
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp") or dry_run:
                return old
            new = copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = _now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new["metadata"]["generation"] = int(meta.get("generation", 1)) + 1
            new["metadata"]["resourceVersion"] = self._next_rv()
            self._store[rdef.store_key][key] = new
            self._emit(rdef, "MODIFIED", new)
            return new
        details = {"name": name, "group": rdef.group, "kind": rdef.plural, "uid": meta.get("uid")}
        if not dry_run:
            new = copy.deepcopy(old)
            new["metadata"]["resourceVersion"] = self._next_rv()
            del self._store[rdef.store_key][key]
            self._after_delete(rdef, new)
            self._emit(rdef, "DELETED", new)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def _delete_collection(self, rdef: ResourceDef, namespace: str | None, params: Mapping[str, str]) -> Obj:
        items = []
        for obj in self._select(rdef, namespace, params):
            result = self._delete(rdef, obj["metadata"].get("namespace"), obj["metadata"]["name"], {}, params)
            items.append(result if result.get("kind") != "Status" else obj)
        return {"kind": f"{rdef.kind}List", "apiVersion": rdef.api_version,
                "metadata": {"resourceVersion": str(self._rv)}, "items": items}

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

    # ------------------------------------------------------------------------------------------
    # Direct (in-loop) access, used by the sandbox's thread-safe accessors.
    # ------------------------------------------------------------------------------------------

    def _direct_create(self, plural: str, obj: Obj, *, group: str = "", namespace: str | None = None) -> Obj:
        rdef = self.find_def(plural, group)
        status = obj.pop("status", None)
        params = {"fieldManager": "awsorg-sandbox"}
        created = self._create(rdef, namespace, obj, params)
        if status is not None and rdef.plural != "customresourcedefinitions":
            created = self._update(rdef, created, {"status": status}, "status", params, None)
        return created

    def list_objects(self, plural: str, group: str | None = None, namespace: str | None = None) -> list[Obj]:
        rdef = self.find_def(plural, group)
        return copy.deepcopy(self._select(rdef, namespace, {}))

    def get_object(self, plural: str, name: str, group: str | None = None,
                   namespace: str | None = None) -> Obj | None:
        rdef = self.find_def(plural, group)
        obj = self._store[rdef.store_key].get(self._key(rdef, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def request_log(self) -> list[tuple[str, str, int]]:
        """Recent requests as (method, path?query, status), for debugging tests."""
        return list(self._request_log)


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
