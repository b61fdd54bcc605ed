"""The sandbox API server's writes: create, update (PUT), merge and JSON patches, server-side apply
(:mod:`controller.sandbox.ssa`), delete with finalizers, and the ``managedFields``, ``generation`` and
``resourceVersion`` each write yields; a part of :class:`controller.sandbox.kube.KubeEmulator`.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Mapping
from typing import Any

import jsonpatch
import kmock
import yaml

from controller.sandbox import kube_meta, ssa
from controller.sandbox.kube_admission import KubeAdmission
from controller.sandbox.kube_storage import CRD_GROUP, Obj, ObjKey, ResourceDef, _error, _now
from controller.sandbox.kube_watch import KubeWatch

_SYSTEM_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                "deletionGracePeriodSeconds", "resourceVersion", "selfLink")
_GENERATE_CHARS = "bcdfghjklmnpqrstvwxz2456789"
# negotiation.NewUnsupportedMediaTypeError lists them in this order (see KubeEmulator._patch).
_CR_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")
_BUILTIN_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                        "application/strategic-merge-patch+json", "application/apply-patch+yaml")


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


def _without_rv(obj: Mapping[str, Any]) -> Obj:
    clone = dict(obj)
    meta = dict(clone.get("metadata") or {})
    meta.pop("resourceVersion", None)
    clone["metadata"] = meta
    return clone


class KubeApply(KubeAdmission, KubeWatch):
    """The writes: each admitted (:class:`KubeAdmission`), stored and announced to the watches (:class:`KubeWatch`)."""

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
        self._put(rdef, self._key(rdef, old_meta.get("namespace"), name), new)
        return new

    def _put(self, rdef: ResourceDef, key: ObjKey, new: Obj) -> None:
        """Store an update (its resourceVersion set), or delete the object once it is being deleted and has no
        finalizer left; the watches hear of it."""
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            del self._store[rdef.store_key][key]
            self._after_delete(rdef, new)
            self._emit(rdef, "DELETED", new)
        else:
            self._store[rdef.store_key][key] = new
            if rdef.plural == "customresourcedefinitions":
                self._register_crd(new)
            self._emit(rdef, "MODIFIED", new)

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
            # Its finalizer (kube_crd_finalizer.py) has deleted its objects; any left (the finalizer removed by
            # hand) are dropped here, where a real API server would keep them in etcd.
            self._store.pop(key, None)

    def _check_preconditions(self, rdef: ResourceDef, name: str, meta: Mapping[str, Any],
                             options: Mapping[str, Any]) -> None:
        """A delete's ``preconditions`` (uid, resourceVersion): 409 when the object is not the one meant."""
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
            raise self._conflict(rdef, name, f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                                             f"UID in object meta: {meta.get('uid')}")
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != meta.get("resourceVersion"):
            raise self._conflict(rdef, name)

    def _delete(self, rdef: ResourceDef, namespace: str | None, name: str, options: Mapping[str, Any],
                params: Mapping[str, str]) -> Obj:
        old = self._get_or_404(rdef, namespace, name)
        meta = old["metadata"]
        self._check_preconditions(rdef, name, meta, options)
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

    def _direct_create(self, plural: str, obj: Obj, *, group: str = "", namespace: str | None = None) -> Obj:
        rdef = self.find_def(plural, group)
        status = obj.pop("status", None)
        params = {"fieldManager": "awsorg-sandbox"}
        created = self._create(rdef, namespace, obj, params)
        if status is not None and rdef.plural != "customresourcedefinitions":
            created = self._update(rdef, created, {"status": status}, "status", params, None)
        return created
