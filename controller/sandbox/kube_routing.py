"""The sandbox API server's routing: HTTP requests to the parts that serve them.

Authentication and authorization (:mod:`controller.sandbox.rbac`), discovery and OpenAPI, the request's verb
and options to a read, a write (:class:`controller.sandbox.kube_apply.KubeApply`; a CRD's deletion:
:mod:`controller.sandbox.kube_crd_finalizer`) or a watch, responses as
objects, lists, ``meta.k8s.io/v1`` Tables or partial metadata, errors as ``Status``, and the faults tests inject;
the outermost part of :class:`controller.sandbox.kube.KubeEmulator`.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import hashlib
import json
import logging
import random
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp.web
import kmock
import yaml

from controller.sandbox import _kube_table, kube_meta, ssa
from controller.sandbox.kube_admission import _invalid
from controller.sandbox.kube_crd_finalizer import KubeCrdFinalizer
from controller.sandbox.kube_storage import DEFAULT_HISTORY_SIZE, Obj, ResourceDef, _error, _parse_path, _Path
from controller.sandbox.rbac import Rbac

logger = logging.getLogger(__name__)

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


class KubeRouting(KubeCrdFinalizer):
    """Requests to reads, writes and watches; discovery; injected faults."""

    rbac: Rbac  # set by KubeEmulator (its default policy is stored through the writes)

    def __init__(self, *, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        super().__init__(history_size=history_size)
        self._request_log: collections.deque[tuple[str, str, int]] = collections.deque(maxlen=2000)
        self.writes: collections.Counter[str] = collections.Counter()  # "PATCH orgunits/status" -> count
        self._faults: list[tuple[frozenset[str], tuple[int, ...], float]] = []
        self._fault_random = random.Random(7)
        self._partitioned: asyncio.Event | None = None  # set while unreachable: requests wait for the heal

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
        if self._partitioned is not None:
            await self._partitioned.wait()  # unreachable: no answer, as behind a lost route
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

    def partition(self) -> None:
        """Make the API server unreachable, as a lost route or a dead node does: every request from now on is
        accepted and never answered (a read, a write, a re-watch: each client waits for its own timeout); the open
        watch streams end, as the connections a load balancer resets. :meth:`heal` answers the waiting requests."""
        if self._partitioned is None:
            self._partitioned = asyncio.Event()
            self.drop_watches()

    def heal(self) -> None:
        if self._partitioned is not None:
            self._partitioned.set()
            self._partitioned = None

    def _fault(self, method: str) -> kmock.KubernetesError | None:
        for methods, statuses, ratio in self._faults:
            if method in methods and self._fault_random.random() < ratio:
                status = self._fault_random.choice(statuses)
                if status == 409:
                    return _error(409, "Conflict", "Operation cannot be fulfilled: the object has been modified; "
                                  "please apply your changes to the latest version and try again")
                return _error(status, "InternalError", "Internal error occurred: injected by the sandbox")
        return None

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
            self.refuse_create_while_terminating(rdef)
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

    @property
    def request_log(self) -> list[tuple[str, str, int]]:
        """Recent requests as (method, path?query, status), for debugging tests."""
        return list(self._request_log)
