"""Deleting a CRD in the sandbox API server as apiextensions-apiserver does (controller/sandbox/kube_crd_finalizer.py):
the CRD Terminating, its objects deleted by normal deletion (their finalizers honoured), the CRD gone after them."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient, KubeError
from tests.e2e.harness import wait_for
from tests.sandbox.conftest import GROUP, PLURAL, widget
from tests.sandbox.test_kube_kubectl import KUBECTL, make_kubectl

CRDS = "customresourcedefinitions"
CRD_NAME = f"{PLURAL}.{GROUP}"
FINALIZER = "example.dev/cleanup"


def crd_client(kube: KubeSandbox) -> KubeClient:
    return KubeClient(kube.url, group="apiextensions.k8s.io", version="v1")


def terminating(crd: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in crd["status"]["conditions"] if c["type"] == "Terminating")


def gone(client: KubeClient, plural: str, name: str) -> bool:
    try:
        client.get(plural, name)
    except KubeError as e:
        return e.status == 404
    return False


def test_a_crd_waits_for_its_objects_finalizers_and_goes_after_them(kube_sandbox: KubeSandbox,
                                                                   kclient: KubeClient) -> None:
    crds = crd_client(kube_sandbox)
    for name in ("alpha", "beta"):
        kclient.create({**widget(name), "metadata": {"name": name, "finalizers": [FINALIZER]}})
    kclient.create(widget("plain"))  # no finalizer: deleted at once

    answered = crds.delete(CRDS, CRD_NAME)
    # REST.Delete: the CRD itself comes back, marked (not a Status: it is not deleted yet).
    assert answered["kind"] == "CustomResourceDefinition" and answered["metadata"]["deletionTimestamp"]
    assert "customresourcecleanup.apiextensions.k8s.io" in answered["metadata"]["finalizers"]
    assert terminating(answered)["reason"] == "InstanceDeletionPending"

    crd = crds.get(CRDS, CRD_NAME)  # the finalizer controller has started: the objects are being deleted
    assert (terminating(crd)["status"], terminating(crd)["reason"], terminating(crd)["message"]) == (
        "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress")
    left = {o["metadata"]["name"]: o for o in kclient.list(PLURAL)}
    assert sorted(left) == ["alpha", "beta"]  # normal deletion: what has a finalizer waits for it
    assert all(o["metadata"]["deletionTimestamp"] and o["metadata"]["finalizers"] == [FINALIZER]
               for o in left.values())

    with pytest.raises(KubeError) as refused:  # customresource_handler.go: no create while terminating
        kclient.create(widget("gamma"))
    assert (refused.value.status, refused.value.reason) == (405, "MethodNotAllowed")
    assert refused.value.message == "create not allowed while custom resource definition is terminating"

    kclient.patch(PLURAL, "alpha", {"metadata": {"finalizers": None}})  # what the owning controller does
    assert gone(kclient, PLURAL, "alpha") and not gone(crds, CRDS, CRD_NAME)
    kclient.patch(PLURAL, "beta", {"metadata": {"finalizers": None}})
    wait_for(lambda: gone(crds, CRDS, CRD_NAME))
    with pytest.raises(KubeError) as exc:
        kclient.list(PLURAL)
    assert exc.value.status == 404  # no longer served


def test_the_crds_watch_shows_each_step(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    crds = crd_client(kube_sandbox)
    start = crds.get(CRDS, CRD_NAME)["metadata"]["resourceVersion"]
    kclient.create({**widget("alpha"), "metadata": {"name": "alpha", "finalizers": [FINALIZER]}})
    crds.delete(CRDS, CRD_NAME)
    kclient.patch(PLURAL, "alpha", {"metadata": {"finalizers": None}})
    wait_for(lambda: gone(crds, CRDS, CRD_NAME))
    query = f"?watch=true&resourceVersion={start}&timeoutSeconds=1"
    with urllib.request.urlopen(kube_sandbox.url + crds.path(CRDS) + query, timeout=10) as rsp:
        events = [json.loads(line) for line in rsp.read().splitlines() if line.strip()]
    steps = [(e["type"], next((c["reason"] for c in (e["object"].get("status") or {}).get("conditions", [])
                               if c["type"] == "Terminating"), None))
             for e in events if e["object"]["metadata"]["name"] == CRD_NAME]
    assert steps[:2] == [("MODIFIED", "InstanceDeletionPending"), ("MODIFIED", "InstanceDeletionInProgress")]
    assert steps[-1] == ("DELETED", "InstanceDeletionCompleted")


def test_a_crd_without_objects_is_gone_when_the_delete_answers(kube_sandbox: KubeSandbox,
                                                              kclient: KubeClient) -> None:
    crds = crd_client(kube_sandbox)
    kclient.create(widget("plain"))
    crds.delete(CRDS, CRD_NAME)
    assert gone(crds, CRDS, CRD_NAME)


def test_objects_that_outlast_the_poll_are_reported_and_deleted_again(kube_sandbox: KubeSandbox,
                                                                     kclient: KubeClient) -> None:
    kube_sandbox.call(lambda emu: setattr(emu, "crd_cleanup_timeout_seconds", 0.3))
    kube_sandbox.call(lambda emu: setattr(emu, "crd_cleanup_retry_seconds", 0.2))
    crds = crd_client(kube_sandbox)
    kclient.create({**widget("alpha"), "metadata": {"name": "alpha", "finalizers": [FINALIZER]}})
    crds.delete(CRDS, CRD_NAME)
    check = wait_for(lambda: terminating(crds.get(CRDS, CRD_NAME))["reason"] == "InstanceDeletionCheck"
                     and crds.get(CRDS, CRD_NAME))
    assert terminating(check)["message"] == (
        "could not confirm zero CustomResources remaining: timed out waiting for the condition")
    kclient.patch(PLURAL, "alpha", {"metadata": {"finalizers": None}})
    wait_for(lambda: gone(crds, CRDS, CRD_NAME))


def test_a_dry_run_delete_changes_nothing(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    crds = crd_client(kube_sandbox)
    kclient.create({**widget("alpha"), "metadata": {"name": "alpha", "finalizers": [FINALIZER]}})
    answered = crds.request("DELETE", crds.path(CRDS, CRD_NAME) + "?dryRun=All")
    assert answered["metadata"]["deletionTimestamp"]
    stored = crds.get(CRDS, CRD_NAME)
    assert "deletionTimestamp" not in stored["metadata"]
    assert not any(c["type"] == "Terminating" for c in stored["status"]["conditions"])
    assert "deletionTimestamp" not in kclient.get(PLURAL, "alpha")["metadata"]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_shows_the_crd_terminating_until_its_objects_are_released(kube_sandbox: KubeSandbox,
                                                                         kclient: KubeClient, tmp_path: Any) -> None:
    kubectl = make_kubectl(kube_sandbox, tmp_path)
    kclient.create({**widget("alpha"), "metadata": {"name": "alpha", "finalizers": [FINALIZER]}})
    out = kubectl("delete", "crd", CRD_NAME, "--wait=false").stdout
    assert f"customresourcedefinition.apiextensions.k8s.io \"{CRD_NAME}\" deleted" in out
    reason = kubectl("get", "crd", CRD_NAME, "-o", 'jsonpath={.status.conditions[?(@.type=="Terminating")].reason}')
    assert reason.stdout == "InstanceDeletionInProgress"
    waiting = kubectl("delete", "crd", CRD_NAME, "--timeout=1s", check=False)
    assert waiting.returncode != 0 and "timed out" in waiting.stderr  # kubectl waits for the CRD to go
    kclient.patch(PLURAL, "alpha", {"metadata": {"finalizers": None}})
    kubectl("wait", "--for=delete", f"crd/{CRD_NAME}", "--timeout=10s")
