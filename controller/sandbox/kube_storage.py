"""The sandbox API server's storage: what it serves and what it holds.

The served resources (:class:`ResourceDef`, registered from the built-in kinds and from each
CustomResourceDefinition), the objects by resource and key, the global ``resourceVersion`` counter, and the
reads the other parts build on (get, present in a version, select by label and field).  Also the small pieces
every part shares: the request path's parts, the label and field selectors, the API server's error.
:class:`KubeStorage` is the first part of :class:`controller.sandbox.kube.KubeEmulator`.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

import kmock

from controller.sandbox import kube_meta

Obj = dict[str, Any]
StoreKey = tuple[str, str]  # (group, plural)
ObjKey = tuple[str | None, str]  # (namespace, name)

CRD_GROUP = "apiextensions.k8s.io"
DEFAULT_HISTORY_SIZE = 1000
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


class KubeStorage(kmock.KubernetesEmulator):
    """The resources served and the objects stored (the state; all of it lives on the serving event loop)."""

    def __init__(self, *, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        super().__init__()
        self._defs: dict[tuple[str, str, str], ResourceDef] = {}
        self._store: dict[StoreKey, dict[ObjKey, Obj]] = collections.defaultdict(dict)
        self._history: dict[StoreKey, collections.deque[tuple[int, str, Obj]]] = {}
        self._floor: dict[StoreKey, int] = {}
        self._history_size = history_size
        self._rv = 0

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

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

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
