"""The sandbox API server's admission: what it refuses before it stores a write.

Names, labels and annotations, the metadata rules of :mod:`controller.sandbox.kube_meta`, a CRD as
apiextensions-apiserver admits it (:mod:`controller.sandbox.crd_admission`), structural-schema pruning, defaulting
and validation (:mod:`controller.api.schema`, CEL rules included), events (:mod:`controller.sandbox._kube_events`)
and the NamespaceLifecycle admission plugin; a part of :class:`controller.sandbox.kube.KubeEmulator`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import kmock

from controller.api import schema as structural
from controller.sandbox import _kube_events, crd_admission, kube_meta, rbac
from controller.sandbox.kube_storage import KubeStorage, Obj, ResourceDef, _error

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _invalid(qualified_kind: str, name: str, causes: list[structural.Cause], *, group: str,
             kind: str) -> kmock.KubernetesError:
    """errors.NewInvalid: 422 with each cause, the message "<Kind.group> "<name>" is invalid: <causes>"."""
    summary = causes[0].message if len(causes) == 1 else "[" + ", ".join(c.message for c in causes) + "]"
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind,
                               "causes": [c.as_dict() for c in causes]}
    if not name:
        del details["name"]
    return _error(422, "Invalid", f'{qualified_kind} "{name}" is invalid: {summary}', details)


class KubeAdmission(KubeStorage):
    """Admission of writes: prune, default, validate (422/400 as the API server answers)."""

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
