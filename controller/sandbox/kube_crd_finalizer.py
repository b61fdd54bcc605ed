"""The sandbox API server's CRD deletion, as apiextensions-apiserver does it: a part of
:class:`controller.sandbox.kube.KubeEmulator`.

Deleting a CustomResourceDefinition does not drop its objects.  The CRD's REST storage marks it first
(apiextensions-apiserver ``pkg/registry/customresourcedefinition/etcd.go``, ``REST.Delete``)::

    // upon first request to delete, add our finalizer and then delegate
    if crd.DeletionTimestamp.IsZero() {
        ...
        // Set the deletion timestamp if needed
        if existingCRD.DeletionTimestamp.IsZero() {
            now := metav1.Now()
            existingCRD.DeletionTimestamp = &now
        }
        if !apiextensions.CRDHasFinalizer(existingCRD, apiextensions.CustomResourceCleanupFinalizer) {
            existingCRD.Finalizers = append(existingCRD.Finalizers, apiextensions.CustomResourceCleanupFinalizer)
        }
        // update the status condition too
        apiextensions.SetCRDCondition(existingCRD, apiextensions.CustomResourceDefinitionCondition{
            Type:    apiextensions.Terminating,
            Status:  apiextensions.ConditionTrue,
            Reason:  "InstanceDeletionPending",
            Message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        })

then its finalizer controller deletes the objects by normal deletion, so their finalizers are honoured and the
controllers that own them see each deletion (``pkg/controller/finalizer/crd_finalizer.go``, ``sync``)::

    apiextensionshelpers.SetCRDCondition(crd, apiextensions.CustomResourceDefinitionCondition{
        Type:    apiextensions.Terminating,
        Status:  apiextensions.ConditionTrue,
        Reason:  "InstanceDeletionInProgress",
        Message: "CustomResource deletion is in progress",
    })
    crd, err = c.crdClient.CustomResourceDefinitions().UpdateStatus(crd)
    ...
    // Now we can start deleting items.  We should use the REST API to ensure that all normal admission runs.
    // Since we control the endpoints, we know that delete collection works. No need to delete if not established.
    ...
    } else if apiextensionshelpers.IsCRDConditionTrue(crd, apiextensions.Established) {
        cond, deleteErr := c.deleteInstances(crd)
    ...
    } else {
        ... Reason:  "NeverEstablished", Message: "resource was never established",
    }
    apiextensionshelpers.CRDRemoveFinalizer(crd, apiextensions.CustomResourceCleanupFinalizer)
    _, err = c.crdClient.CustomResourceDefinitions().UpdateStatus(crd)

and ``deleteInstances``, once per namespace holding objects::

    if _, err := crClient.DeleteCollection(nsCtx, rest.ValidateAllObjectFunc, nil, nil); err != nil {
    ...
    // now we need to wait until all the resources are deleted.  Start with a simple poll before we do anything fancy.
    err = wait.PollImmediate(5*time.Second, 1*time.Minute, func() (bool, error) {
        listObj, err := crClient.List(ctx, nil)
        ...
        if len(listObj.(*unstructured.UnstructuredList).Items) == 0 {
            return true, nil
    ...
    if err != nil {
        return apiextensions.CustomResourceDefinitionCondition{
            Type:    apiextensions.Terminating,
            Status:  apiextensions.ConditionTrue,
            Reason:  "InstanceDeletionCheck",
            Message: fmt.Sprintf("could not confirm zero CustomResources remaining: %v", err),
        }, err
    }
    return apiextensions.CustomResourceDefinitionCondition{
        Type:    apiextensions.Terminating,
        Status:  apiextensions.ConditionFalse,
        Reason:  "InstanceDeletionCompleted",
        Message: "removed all instances",
    }, nil

(a failed sync is requeued by the controller's rate-limited work queue).  While the CRD is terminating its
objects are still served, read, patched and deleted, but a new one is refused
(``pkg/apiserver/customresource_handler.go``, ``serveResource``)::

    case "create":
        if terminating {
            err := apierrors.NewMethodNotSupported(schema.GroupResource{...}, requestInfo.Verb)
            err.ErrStatus.Message = fmt.Sprintf("%v not allowed while custom resource definition is terminating", ...)

Sources: kubernetes/kubernetes ``staging/src/k8s.io/apiextensions-apiserver`` (read 2026-12-07).  What the sandbox
does differently, for tests' sake: the controller's first pass runs at once, inside the DELETE request (the real
controller starts within milliseconds of the CRD's update), so a CRD whose objects carry no finalizer is gone when
the DELETE answers; the wait for finalizers is polled every :attr:`KubeCrdFinalizer.crd_cleanup_poll_seconds`
(0.1 s, not 5 s) for :attr:`~KubeCrdFinalizer.crd_cleanup_timeout_seconds` (60 s, as real), and a timed-out pass is
retried after :attr:`~KubeCrdFinalizer.crd_cleanup_retry_seconds`.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

from controller.sandbox.kube_apply import KubeApply
from controller.sandbox.kube_storage import CRD_GROUP, DEFAULT_HISTORY_SIZE, Obj, ResourceDef, _error, _now

#: apiextensions.CustomResourceCleanupFinalizer
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
CRDS = "customresourcedefinitions"


def set_condition(crd: Obj, type_: str, status: str, reason: str, message: str) -> None:
    """apihelpers.SetCRDCondition: a new condition is appended; an existing one takes the new status, reason and
    message, and a new lastTransitionTime only when its status changes."""
    conditions = crd.setdefault("status", {}).setdefault("conditions", [])
    for cond in conditions:
        if cond.get("type") == type_:
            if cond.get("status") != status or not cond.get("lastTransitionTime"):
                cond["lastTransitionTime"] = _now()
            cond.update(status=status, reason=reason, message=message)
            return
    conditions.append({"type": type_, "status": status, "reason": reason, "message": message,
                       "lastTransitionTime": _now()})


def condition_true(crd: Mapping[str, Any], type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


class KubeCrdFinalizer(KubeApply):
    """A CRD's deletion: marked Terminating, its objects deleted by normal deletion, the CRD gone after them."""

    crd_cleanup_poll_seconds = 0.1  # apiextensions-apiserver: 5 s
    crd_cleanup_timeout_seconds = 60.0  # apiextensions-apiserver: 1 minute, then InstanceDeletionCheck
    crd_cleanup_retry_seconds = 1.0  # the work queue's rate limiter, simplified

    def __init__(self, *, history_size: int = DEFAULT_HISTORY_SIZE) -> None:
        super().__init__(history_size=history_size)
        self._cleanups: dict[str, asyncio.Task[None]] = {}

    def _crd(self, name: str) -> Obj | None:
        return self._store[(CRD_GROUP, CRDS)].get((None, name))

    def crd_terminating(self, rdef: ResourceDef) -> bool:
        """Whether the CRD serving ``rdef`` is being deleted (its Terminating condition is True)."""
        crd = self._crd(f"{rdef.plural}.{rdef.group}") if rdef.custom else None
        return crd is not None and condition_true(crd, "Terminating")

    def refuse_create_while_terminating(self, rdef: ResourceDef) -> None:
        """customresource_handler.go: 405 MethodNotAllowed for a create while the CRD is terminating."""
        if self.crd_terminating(rdef):
            raise _error(405, "MethodNotAllowed", "create not allowed while custom resource definition is terminating",
                         {"group": rdef.group, "kind": rdef.plural})

    def _delete(self, rdef: ResourceDef, namespace: str | None, name: str, options: Mapping[str, Any],
                params: Mapping[str, str]) -> Obj:
        if rdef.store_key != (CRD_GROUP, CRDS):
            return super()._delete(rdef, namespace, name, options, params)
        old = self._get_or_404(rdef, None, name)
        self._check_preconditions(rdef, name, old["metadata"], options)
        if old["metadata"].get("deletionTimestamp"):
            return super()._delete(rdef, namespace, name, options, params)  # r.Store.Delete: finalizers wait
        new = copy.deepcopy(old)
        meta = new["metadata"]
        meta["deletionTimestamp"] = _now()
        if CLEANUP_FINALIZER not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), CLEANUP_FINALIZER]
        set_condition(new, "Terminating", "True", "InstanceDeletionPending",
                      "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon")
        if params.get("dryRun") or options.get("dryRun"):
            return new
        stored = copy.deepcopy(self._write_crd(new))
        if not self._cleanup_pass(name):
            self._cleanups[name] = asyncio.get_running_loop().create_task(self._cleanup(name))
        return stored

    def _write_crd(self, new: Obj) -> Obj:
        """Store the CRD's new state (the controller's UpdateStatus): deleted once it has no finalizer left."""
        new["metadata"]["resourceVersion"] = self._next_rv()
        self._put(self.find_def(CRDS, CRD_GROUP), (None, new["metadata"]["name"]), new)
        return new

    def _instances(self, crd: Obj) -> tuple[ResourceDef | None, list[Obj]]:
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        rdef = next((d for d in self.defs() if d.custom and (d.group, d.plural) == (group, plural)), None)
        return rdef, list(self._store.get((group, plural), {}).values())

    def _cleanup_pass(self, name: str) -> bool:
        """One sync of the finalizer controller, up to its first look at what is left: True when it is over."""
        crd = self._crd(name)
        if crd is None or not crd["metadata"].get("deletionTimestamp") or CLEANUP_FINALIZER not in (
                crd["metadata"].get("finalizers") or []):
            return True  # no work to do
        crd = copy.deepcopy(crd)
        set_condition(crd, "Terminating", "True", "InstanceDeletionInProgress",
                      "CustomResource deletion is in progress")
        crd = self._write_crd(crd)
        if not condition_true(crd, "Established"):
            self._finish(name, "False", "NeverEstablished", "resource was never established")
            return True
        rdef, items = self._instances(crd)
        if rdef is not None:
            namespaces = sorted({obj["metadata"].get("namespace") or "" for obj in items})
            for namespace in namespaces:  # one DeleteCollection per namespace, normal deletion
                self._delete_collection(rdef, namespace or None, {})
        return self._look(name)

    def _look(self, name: str) -> bool:
        """The poll's condition: no object left -> the finalizer is removed and the CRD goes."""
        crd = self._crd(name)
        if crd is None:
            return True
        if self._instances(crd)[1]:
            return False
        self._finish(name, "False", "InstanceDeletionCompleted", "removed all instances")
        return True

    def _finish(self, name: str, status: str, reason: str, message: str) -> None:
        crd = self._crd(name)
        if crd is None:
            return
        crd = copy.deepcopy(crd)
        set_condition(crd, "Terminating", status, reason, message)
        crd["metadata"]["finalizers"] = [f for f in crd["metadata"].get("finalizers") or [] if f != CLEANUP_FINALIZER]
        self._write_crd(crd)

    async def _cleanup(self, name: str) -> None:
        """The rest of the sync (wait.PollImmediate), then the work queue's retries until the objects are gone."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                deadline = loop.time() + self.crd_cleanup_timeout_seconds
                while loop.time() < deadline:
                    await asyncio.sleep(self.crd_cleanup_poll_seconds)
                    if self._look(name):
                        return
                crd = self._crd(name)
                if crd is None:
                    return
                crd = copy.deepcopy(crd)
                set_condition(crd, "Terminating", "True", "InstanceDeletionCheck",
                              "could not confirm zero CustomResources remaining: timed out waiting for the condition")
                self._write_crd(crd)
                await asyncio.sleep(self.crd_cleanup_retry_seconds)
                if self._cleanup_pass(name):
                    return
        finally:
            self._cleanups.pop(name, None)

    def close_watches(self) -> None:
        """On shutdown: the finalizer controller stops as well."""
        for task in list(self._cleanups.values()):
            task.cancel()
        super().close_watches()
