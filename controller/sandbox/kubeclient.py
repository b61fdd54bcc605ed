"""A small synchronous Kubernetes client (standard library only) for tests and the demo."""

from __future__ import annotations

import builtins
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_GROUP", "DEFAULT_VERSION", "KubeClient", "KubeError"]

DEFAULT_GROUP = "awsorg.gitops.dev"
DEFAULT_VERSION = "v1alpha1"
Obj = dict[str, Any]


class KubeError(Exception):
    """An error answered by the API server: ``status`` is the HTTP code, ``body`` the Status object."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        self.status = status
        self.body: dict[str, Any] = dict(body)
        self.reason: str = str(self.body.get("reason", ""))
        super().__init__(f"{status} {self.reason}: {self.body.get('message', '')}")

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


class KubeClient:
    """Create/get/list/patch/delete/apply objects of one API group (cluster-scoped by default)."""

    def __init__(self, url: str, group: str = DEFAULT_GROUP, version: str = DEFAULT_VERSION,
                 *, namespace: str | None = None, timeout: float = 10.0, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.group = group
        self.version = version
        self.namespace = namespace
        self.timeout = timeout
        self.token = token

    # -- low level ------------------------------------------------------------------------------

    def path(self, plural: str, name: str | None = None, subresource: str | None = None, *,
             group: str | None = None, version: str | None = None, namespace: str | None = None) -> str:
        group = self.group if group is None else group
        version = version or (self.version if group == self.group else "v1")
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        namespace = namespace or self.namespace
        if namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{plural}"
        if name:
            base += f"/{urllib.parse.quote(name)}"
        if subresource:
            base += f"/{subresource}"
        return base

    def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
                params: Mapping[str, str] | None = None) -> Any:
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as rsp:
                payload = rsp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                status_body = json.loads(raw)
            except ValueError:
                status_body = {"message": raw.decode("utf-8", "replace")}
            if not isinstance(status_body, dict):
                status_body = {"message": str(status_body)}
            raise KubeError(e.code, status_body) from None
        return json.loads(payload) if payload else None

    # -- objects ----------------------------------------------------------------------------------

    def create(self, obj: Mapping[str, Any], plural: str | None = None, **kw: Any) -> Obj:
        plural = plural or self.plural_of(obj)
        result: Obj = self.request("POST", self.path(plural, **kw), dict(obj))
        return result

    def get(self, plural: str, name: str, **kw: Any) -> Obj:
        result: Obj = self.request("GET", self.path(plural, name, **kw))
        return result

    def list(self, plural: str, *, label_selector: str | None = None, **kw: Any) -> builtins.list[Obj]:
        params = {"labelSelector": label_selector} if label_selector else None
        result = self.request("GET", self.path(plural, **kw), params=params)
        items: builtins.list[Obj] = result.get("items", [])
        return items

    def patch(self, plural: str, name: str, patch: Mapping[str, Any], subresource: str | None = None,
              **kw: Any) -> Obj:
        """Merge-patch (RFC 7386) the object or its subresource (e.g. ``status``)."""
        result: Obj = self.request("PATCH", self.path(plural, name, subresource, **kw), dict(patch),
                                   content_type="application/merge-patch+json")
        return result

    def json_patch(self, plural: str, name: str, ops: builtins.list[Mapping[str, Any]], subresource: str | None = None,
                   **kw: Any) -> Obj:
        result: Obj = self.request("PATCH", self.path(plural, name, subresource, **kw), [dict(o) for o in ops],
                                   content_type="application/json-patch+json")
        return result

    def replace(self, plural: str, name: str, obj: Mapping[str, Any], subresource: str | None = None,
                **kw: Any) -> Obj:
        result: Obj = self.request("PUT", self.path(plural, name, subresource, **kw), dict(obj))
        return result

    def delete(self, plural: str, name: str, **kw: Any) -> Obj:
        result: Obj = self.request("DELETE", self.path(plural, name, **kw))
        return result

    def apply(self, obj: Mapping[str, Any], plural: str | None = None) -> Obj:
        """Create the object, or merge-patch its spec, labels and annotations if it exists."""
        plural = plural or self.plural_of(obj)
        meta = obj.get("metadata") or {}
        name = meta["name"]
        kw: dict[str, Any] = {}
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        if obj.get("apiVersion"):
            kw = {"group": group, "version": version}
        if meta.get("namespace"):
            kw["namespace"] = meta["namespace"]
        try:
            current = self.get(plural, name, **kw)
        except KubeError as e:
            if e.status != 404:
                raise
            return self.create(obj, plural, **kw)
        patch: Obj = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
        for key in current:
            if key not in ("apiVersion", "kind", "metadata", "status") and key not in patch:
                patch[key] = None  # fields removed from the manifest are removed from the object
        meta_patch: Obj = {}
        for field in ("labels", "annotations"):
            if field in meta:
                meta_patch[field] = meta[field]
        if meta_patch:
            patch["metadata"] = meta_patch
        if not patch:
            return current
        return self.patch(plural, name, patch, **kw)

    def events(self, namespace: str | None = None) -> builtins.list[Obj]:
        """Core v1 events (all namespaces by default)."""
        return self.list("events", group="", version="v1", namespace=namespace)

    def plural_of(self, obj: Mapping[str, Any]) -> str:
        """Find the plural of an object's kind through discovery."""
        api_version = str(obj.get("apiVersion") or f"{self.group}/{self.version}")
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        for res in self.request("GET", path).get("resources", []):
            if res.get("kind") == obj.get("kind") and "/" not in res.get("name", ""):
                return str(res["name"])
        raise KubeError(404, {"reason": "NotFound", "message": f"no resource for {api_version} {obj.get('kind')}"})
