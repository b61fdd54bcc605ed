"""Server-side apply and ``metadata.managedFields``, for the sandbox Kubernetes API (:mod:`controller.sandbox.kube`).

It follows sigs.k8s.io/structured-merge-diff (merge/update.go) and apimachinery's
``pkg/util/managedfields/internal`` closely enough for ``kubectl apply --server-side`` and controllers
that write with merge/JSON patches:

- every write records which fields its manager set (``operation: Update``: the fields it added or
  changed; ``operation: Apply``: exactly the fields of its applied configuration);
- an apply merges its configuration into the live object, removes the fields the same manager applied
  last time and no longer applies (unless another manager owns them), and fails with 409 Conflict when
  it would change a field another manager owns, unless ``force=true`` takes the field over;
- the status subresource (when the kind has one) is managed separately: an apply of the main resource
  never touches ``status`` nor the status entries of other managers.

Field sets are sets of paths; a path is a tuple of FieldsV1 keys: ``f:<field>``, ``k:<json of the key
fields>`` (items of ``x-kubernetes-list-type: map`` lists), ``v:<json>`` (items of ``set`` lists).
Deviation, kept on purpose: kinds the sandbox has no schema for (built-in kinds, ``x-kubernetes-preserve-
unknown-fields``) have their lists atomic, where the real server knows e.g. a Deployment's containers as a
map keyed by name.
"""

from __future__ import annotations

import collections
import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["APPLY", "ApplyConflict", "Path", "apply", "conflict_message", "field_set", "track_update"]

APPLY = "application/apply-patch+yaml"  # types.ApplyYAMLPatchType

Obj = dict[str, Any]
Path = tuple[str, ...]
Schema = Mapping[str, Any]
_CONTAINER = object()  # the value of a path that is a member only because it holds others

# apimachinery pkg/util/managedfields/internal/stripmeta.go: fields never part of managedFields.
#     fieldpath.MakePathOrDie("apiVersion"), fieldpath.MakePathOrDie("kind"), fieldpath.MakePathOrDie("metadata"),
#     fieldpath.MakePathOrDie("metadata", "name"), ("metadata", "namespace"), ("metadata", "creationTimestamp"),
#     ("metadata", "selfLink"), ("metadata", "uid"), ("metadata", "clusterName"), ("metadata", "generation"),
#     ("metadata", "managedFields"), ("metadata", "resourceVersion"),
# (and deletionTimestamp/deletionGracePeriodSeconds, which only the server sets).
_STRIPPED_ROOT = frozenset({"apiVersion", "kind"})
_STRIPPED_META = frozenset({"name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
                            "managedFields", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"})

# The ObjectMeta schema the server merges into every kind's (k8s.io/apimachinery ObjectMeta:
# labels/annotations are granular maps, finalizers a +listType=set, ownerReferences a map keyed by uid).
_OBJECT_META: Schema = {"type": "object", "properties": {
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    "finalizers": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
    "ownerReferences": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uid"],
                        "items": {"type": "object"}},
}}


class ApplyConflict(Exception):
    """An apply would change fields other managers own: {manager identity: paths}."""

    def __init__(self, conflicts: dict[str, list[Path]]) -> None:
        super().__init__(conflict_message(conflicts))
        self.conflicts = conflicts

    def causes(self) -> list[dict[str, str]]:
        # apimachinery pkg/util/managedfields/internal/conflict.go (NewConflictError):
        #     causes = append(causes, metav1.StatusCause{Type: metav1.CauseTypeFieldManagerConflict,
        #         Message: fmt.Sprintf("conflict with %v", printManager(conflict.Manager)),
        #         Field:   conflict.Path.String()})
        return [{"reason": "FieldManagerConflict", "message": f"conflict with {_print_manager(manager)}",
                 "field": path_string(path)}
                for manager in sorted(self.conflicts) for path in self.conflicts[manager]]


# --------------------------------------------------------------------------------------------------
# Paths and field sets.
# --------------------------------------------------------------------------------------------------

def path_string(path: Path) -> str:
    """fieldpath.Path.String(): ``.spec.size``, ``.spec.items[name="a"]``, ``.metadata.finalizers[="x"]``."""
    out = ""
    for element in path:
        kind, text = element[:2], element[2:]
        if kind == "f:":
            out += f".{text}"
        elif kind == "k:":
            keys = json.loads(text)
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(keys.items())) + "]"
        elif kind == "v:":
            out += f"[={text}]"
        else:
            out += f"[{text}]"
    return out


def _child_schema(schema: Schema | None, key: str) -> tuple[Schema | None, bool]:
    """The schema of a map's key, and whether it is a declared field (a struct field, not a map entry)."""
    if schema is None:
        return None, False
    properties = schema.get("properties") or {}
    if key in properties:
        return properties[key], True
    extra = schema.get("additionalProperties")
    return (extra if isinstance(extra, Mapping) else None), False


def _item_key(item: Any, keys: list[str]) -> str:
    fields = {k: item.get(k) for k in keys} if isinstance(item, Mapping) else {}
    return "k:" + json.dumps(fields, sort_keys=True, separators=(",", ":"))


def _flatten(value: Any, schema: Schema | None, path: Path, out: dict[Path, Any], containers: bool) -> None:
    """typed/tofieldset.go, as a map of each member path to its value (containers: _CONTAINER).

    With ``containers``, every map and list present is a member too, as typed.Compare sees them: a
    map that appears is "Added" ("." in FieldsV1), one that goes away "Removed"."""
    if containers and isinstance(value, Mapping | list) and path:
        out.setdefault(path, _CONTAINER)
    if isinstance(value, Mapping):
        if schema is not None and schema.get("x-kubernetes-map-type") == "atomic":
            out[path] = value
            return
        if not value:
            out[path] = _CONTAINER
            return
        for key, item in value.items():
            child, declared = _child_schema(schema, str(key))
            if path == () and key == "metadata":
                child, declared = _OBJECT_META, True
            sub = (*path, f"f:{key}")
            # visitMapItems: "if val.IsNull() || (val.IsMap() && val.AsMap().Length() == 0) ||
            #  !declared { v2.set.Insert(v2.path) }"
            if item is None:
                out[sub] = None
                continue
            if not declared:
                out[sub] = item if not isinstance(item, Mapping | list) else _CONTAINER
            _flatten(item, child, sub, out, containers)
        return
    if isinstance(value, list):
        list_type = (schema or {}).get("x-kubernetes-list-type")
        items_schema = (schema or {}).get("items")
        if list_type == "map" and all(isinstance(i, Mapping) for i in value):
            keys = list((schema or {}).get("x-kubernetes-list-map-keys") or [])
            for item in value:
                sub = (*path, _item_key(item, keys))
                out[sub] = _CONTAINER
                _flatten(item, items_schema if isinstance(items_schema, Mapping) else None, sub, out, containers)
            return
        if list_type == "set":
            for item in value:
                out[(*path, "v:" + json.dumps(item, sort_keys=True, separators=(",", ":")))] = item
            return
        out[path] = value  # atomic
        return
    out[path] = value


def flatten(obj: Mapping[str, Any], schema: Schema | None, *, reset: Path | None, keep_only: Path | None,
            containers: bool = False) -> dict[Path, Any]:
    """The object's member paths and values, without the stripped fields and those reset for this endpoint
    (``reset``/``keep_only`` are top-level fields: the main resource resets status, /status all but it)."""
    root: Obj = {}
    for key, value in obj.items():
        field = f"f:{key}"
        if key in _STRIPPED_ROOT or (reset is not None and field == reset[0]) or (
                keep_only is not None and field != keep_only[0]):
            continue
        if key == "metadata" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k not in _STRIPPED_META}
            if not value:
                continue
        root[key] = value
    out: dict[Path, Any] = {}
    _flatten(root, schema, (), out, containers)
    out.pop(("f:metadata",), None)
    return out


def field_set(obj: Mapping[str, Any], schema: Schema | None) -> set[Path]:
    return set(flatten(obj, schema, reset=None, keep_only=None))


# --------------------------------------------------------------------------------------------------
# FieldsV1 and managedFields entries.
# --------------------------------------------------------------------------------------------------

def encode_fields(paths: Iterable[Path]) -> Obj:
    """A field set as FieldsV1 JSON: nested keys, ``".": {}`` where a node is a member and has children."""
    tree: Obj = {}
    members: set[Path] = set(paths)
    for path in sorted(members):
        node = tree
        for element in path:
            node = node.setdefault(element, {})

    def mark(node: Obj, prefix: Path) -> None:
        for key, child in node.items():
            sub = (*prefix, key)
            if child and sub in members:
                child["."] = {}
            mark({k: v for k, v in child.items() if k != "."}, sub)

    mark(tree, ())
    return _sorted(tree)


def _sorted(node: Obj) -> Obj:
    return {k: _sorted(node[k]) for k in sorted(node)}


def decode_fields(fields: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for key, child in fields.items():
        if key == ".":
            paths.add(prefix)
            continue
        sub = (*prefix, key)
        if not child:
            paths.add(sub)
        else:
            paths |= decode_fields(child, sub)
    return paths


def _identity(entry: Mapping[str, Any]) -> str:
    """internal/buildmanagerinfo.go (BuildManagerIdentifier): the entry without fields and time; appliers
    also without apiVersion, "so it will always have the same manager identifier each time it applied"."""
    ident = {k: entry[k] for k in ("manager", "operation", "apiVersion", "subresource") if entry.get(k)}
    if ident.get("operation") == "Apply":
        ident.pop("apiVersion", None)
    return json.dumps(ident, separators=(",", ":"))


def _print_manager(identity: str) -> str:
    """internal/conflict.go (printManager):
        managerStr := fmt.Sprintf("%q", encodedManager.Manager)
        if encodedManager.Subresource != "" { managerStr = fmt.Sprintf("%s with subresource %q", managerStr, ...) }
        if encodedManager.Operation == metav1.ManagedFieldsOperationUpdate {
            if encodedManager.Time == nil { return fmt.Sprintf("%s using %v", managerStr, encodedManager.APIVersion) }
    """
    entry = json.loads(identity)
    text = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        text += f" using {entry.get('apiVersion', '')}"
    return text


def conflict_message(conflicts: Mapping[str, list[Path]]) -> str:
    """internal/conflict.go (getConflictMessage):
        if len(conflicts) == 1 {
            return fmt.Sprintf("Apply failed with 1 conflict: conflict with %v: %v", printManager(...), ...Path)
        }
        ... messages = append(messages, fmt.Sprintf("conflicts with %v:", printManager(manager)))
            ... messages = append(messages, fmt.Sprintf("- %v", path))
        return fmt.Sprintf("Apply failed with %d conflicts: %s", len(conflicts), strings.Join(messages, "\\n"))
    """
    count = sum(len(paths) for paths in conflicts.values())
    if count == 1:
        ((manager, paths),) = conflicts.items()
        return f"Apply failed with 1 conflict: conflict with {_print_manager(manager)}: {path_string(paths[0])}"
    lines: list[str] = []
    for manager in sorted(conflicts):
        lines.append(f"conflicts with {_print_manager(manager)}:")
        lines.extend(f"- {path_string(p)}" for p in conflicts[manager])
    return f"Apply failed with {count} conflicts: " + "\n".join(lines)


# Stored objects are never changed in place but for fields flatten() leaves out (resourceVersion, generation,
# managedFields...), so what was computed for one (its fields, its decoded managedFields) holds while it lives:
# each write then walks only the new object. Entries keep the object alive, so an id is never reused.
_CACHE: collections.OrderedDict[tuple[Any, ...], tuple[Any, Any]] = collections.OrderedDict()
_CACHE_SIZE = 512


def _cached(key: tuple[Any, ...], owner: Any) -> Any:
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is owner:
        _CACHE.move_to_end(key)
        return hit[1]
    return None


def _remember(key: tuple[Any, ...], owner: Any, value: Any) -> Any:
    _CACHE[key] = (owner, value)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _managers(obj: Mapping[str, Any]) -> dict[str, tuple[Obj, set[Path]]]:
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    key = ("managers", id(entries))
    cached: dict[str, tuple[Obj, set[Path]]] | None = _cached(key, entries) if entries else None
    if cached is not None:
        return dict(cached)
    managers: dict[str, tuple[Obj, set[Path]]] = {}
    for entry in entries:
        if isinstance(entry, Mapping):
            managers[_identity(entry)] = (dict(entry), decode_fields(entry.get("fieldsV1") or {}))
    if entries:
        _remember(key, entries, dict(managers))
    return managers


def _entries(managers: Mapping[str, tuple[Obj, set[Path]]],
             previous: Mapping[str, tuple[Obj, set[Path]]]) -> list[Obj]:
    """The managedFields list: entries with fields, in internal/sort.go's order (operation, time, manager...).

    An entry whose set did not change keeps its time (internal/managedfields.go: timestamps are not
    bumped by no-op writes), so that a no-op write stays a no-op."""
    out: list[Obj] = []
    for ident, (entry, paths) in managers.items():
        if not paths:
            continue
        before = previous.get(ident)
        if before is not None and before[1] == paths:
            out.append(before[0])
            continue
        fields = encode_fields(paths)
        out.append({**{k: v for k, v in entry.items() if k != "fieldsV1"}, "fieldsType": "FieldsV1",
                    "fieldsV1": fields})
    out.sort(key=lambda e: (e.get("operation", ""), e.get("time", ""), e.get("manager", ""),
                            e.get("apiVersion", ""), e.get("subresource", "")))
    return out


def _endpoint(has_status: bool, subresource: str | None) -> tuple[Path | None, Path | None]:
    """The fields an endpoint resets (GetResetFields): the main resource resets status, /status all but it."""
    if not has_status:
        return None, None
    if subresource == "status":
        return None, ("f:status",)
    return ("f:status",), None


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], schema: Schema | None, reset: Path | None,
             keep_only: Path | None) -> tuple[set[Path], set[Path]]:
    """typed.Compare: (added or modified paths, removed paths), without ignored fields."""
    def flat(obj: Mapping[str, Any]) -> dict[Path, Any]:
        key = ("flat", id(obj), id(schema), reset, keep_only)
        found: dict[Path, Any] | None = _cached(key, obj)
        if found is None:
            found = _remember(key, obj, flatten(obj, schema, reset=reset, keep_only=keep_only, containers=True))
        return found

    before, after = flat(old), flat(new)

    def same(a: Any, b: Any) -> bool:
        return a is b if (a is _CONTAINER or b is _CONTAINER) else bool(a == b)

    changed = {p for p, v in after.items() if p not in before or not same(before[p], v)}
    return changed, set(before) - set(after)


def track_update(old: Mapping[str, Any] | None, new: Mapping[str, Any], *, manager: str, api_version: str,
                 subresource: str | None, has_status: bool, schema: Schema | None, now: str) -> list[Obj]:
    """The managedFields after a create, update or (merge/JSON) patch by ``manager``.

    structured-merge-diff merge/update.go (Updater.Update, with force): other managers lose what changed
    or went away, and this manager's set becomes
        set := managers[manager].Set().Difference(compare.Removed).Union(compare.Modified).Union(compare.Added)
    """
    reset, keep_only = _endpoint(has_status, subresource)
    base: Mapping[str, Any] = old or {}
    previous = _managers(base)
    managers = dict(previous)
    changed, removed = _changes(base, new, schema, reset, keep_only)
    entry: Obj = {"manager": manager, "operation": "Update", "apiVersion": api_version, "time": now}
    if subresource:
        entry["subresource"] = subresource
    ident = _identity(entry)
    for key, (meta, paths) in managers.items():
        if key != ident:
            managers[key] = (meta, paths - changed - removed)
    _meta, mine = managers.get(ident, (entry, set()))
    managers[ident] = (entry, (mine - removed) | changed)
    return _entries(managers, previous)


# --------------------------------------------------------------------------------------------------
# Apply.
# --------------------------------------------------------------------------------------------------

def _merge(live: Any, config: Any, schema: Schema | None, *, root: bool = False) -> Any:
    """typed.Merge: the configuration wins; maps merge; map-lists merge by key; set-lists union; others atomic."""
    if isinstance(live, Mapping) and isinstance(config, Mapping):
        if schema is not None and schema.get("x-kubernetes-map-type") == "atomic":
            return copy.deepcopy(config)
        result = dict(live)
        for key, value in config.items():
            child, _declared = _child_schema(schema, str(key))
            if root and key == "metadata":
                child = _OBJECT_META
            result[key] = _merge(live.get(key), value, child) if key in live else copy.deepcopy(value)
        return result
    if isinstance(live, list) and isinstance(config, list):
        list_type = (schema or {}).get("x-kubernetes-list-type")
        items = (schema or {}).get("items")
        if list_type == "map":
            keys = list((schema or {}).get("x-kubernetes-list-map-keys") or [])
            merged = list(live)
            index = {_item_key(i, keys): n for n, i in enumerate(merged)}
            for item in config:
                key = _item_key(item, keys)
                if key in index:
                    merged[index[key]] = _merge(merged[index[key]], item, items if isinstance(items, Mapping)
                                                else None)
                else:
                    index[key] = len(merged)
                    merged.append(copy.deepcopy(item))
            return merged
        if list_type == "set":
            return list(live) + [copy.deepcopy(i) for i in config if i not in live]
    return copy.deepcopy(config)


def _remove(obj: Any, path: Path, schema: Schema | None, *, root: bool = False) -> None:
    """Remove one member path (a field, a map-list item or a set item) from obj, in place."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if isinstance(obj, dict) and head.startswith("f:"):
        key = head[2:]
        child, _declared = _child_schema(schema, key)
        if root and key == "metadata":
            child = _OBJECT_META
        if not rest:
            obj.pop(key, None)
        elif key in obj:
            _remove(obj[key], rest, child)
    elif isinstance(obj, list) and head.startswith(("k:", "v:")):
        for n, item in enumerate(obj):
            if head.startswith("v:"):
                match = "v:" + json.dumps(item, sort_keys=True, separators=(",", ":")) == head
            else:
                match = _item_key(item, list(json.loads(head[2:]).keys())) == head
            if match:
                if rest:
                    items = (schema or {}).get("items")
                    _remove(item, rest, items if isinstance(items, Mapping) else None)
                else:
                    del obj[n]
                return


def apply(live: Mapping[str, Any], config: Mapping[str, Any], *, manager: str, force: bool, api_version: str,
          subresource: str | None, has_status: bool, schema: Schema | None, now: str) -> tuple[Obj, list[Obj]]:
    """Apply ``config`` for ``manager`` to ``live``: (the new object, its managedFields).

    structured-merge-diff merge/update.go (Updater.Apply):
        newObject, err := liveObject.Merge(configObject)
        lastSet := managers[manager]
        set, err := configObject.ToFieldSet()
        managers[manager] = fieldpath.NewVersionedSet(set, version, true)
        newObject, err = s.prune(newObject, managers, manager, lastSet)
        managers, _, err = s.update(liveObject, newObject, version, managers, manager, force)
    prune "will remove a field, list or map item, iff: applyingManager applied it last time,
    applyingManager didn't apply it this time, no other applier claims to manage it"; update raises
        conflictSet := managerSet.Set().Intersection(compare.Modified.Union(compare.Added))
        if !force && len(conflicts) != 0 { return nil, nil, ConflictsFromManagers(conflicts) }
    and with force takes the conflicting fields from their managers.
    """
    reset, keep_only = _endpoint(has_status, subresource)
    body: Obj = copy.deepcopy(dict(config))
    if has_status:  # the fields this endpoint resets are not applied (GetResetFields)
        if subresource == "status":
            body = {k: v for k, v in body.items() if k in ("apiVersion", "kind", "metadata", "status")}
        else:
            body.pop("status", None)
    previous = _managers(live)
    managers = dict(previous)
    entry: Obj = {"manager": manager, "operation": "Apply", "apiVersion": api_version, "time": now}
    if subresource:
        entry["subresource"] = subresource
    ident = _identity(entry)
    applied = set(flatten(body, schema, reset=reset, keep_only=keep_only))
    last = managers.get(ident, ({}, set()))[1]
    merged: Obj = _merge(dict(live), body, schema, root=True)
    others: set[Path] = set()
    for key, (_m, paths) in managers.items():
        if key != ident:
            others |= paths
    kept = applied | others
    for path in sorted(last - kept, key=len, reverse=True):
        if not any(q[:len(path)] == path for q in kept):
            _remove(merged, path, schema, root=True)
    changed, removed = _changes(live, merged, schema, reset, keep_only)
    conflicts = {key: sorted(paths & changed) for key, (_m, paths) in managers.items()
                 if key != ident and paths & changed}
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    for key, (meta, paths) in managers.items():
        if key != ident:
            managers[key] = (meta, paths - changed - removed)
    managers[ident] = (entry, applied)
    return merged, _entries(managers, previous)
