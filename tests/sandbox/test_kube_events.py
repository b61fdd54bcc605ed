"""The sandbox validates core/v1 Events as the API server does (legacyValidateEvent, cited in
controller/sandbox/_kube_events.py): where the event of a cluster-scoped object may live, and what an event with
an eventTime must carry."""

from __future__ import annotations

from typing import Any

import pytest

from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient, KubeError

NOW = "2026-01-01T00:00:00.000000Z"


def event(namespace: str, involved_ns: str | None = None, **fields: Any) -> dict[str, Any]:
    involved = {"apiVersion": "sandbox.test.dev/v1", "kind": "Widget", "name": "alpha", "uid": "u-1"}
    if involved_ns is not None:
        involved["namespace"] = involved_ns
    body = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1", "namespace": namespace},
            "involvedObject": involved, "type": "Normal", "reason": "Created", "message": "made"}
    if fields.pop("new", False):  # as events.k8s.io-era clients (and kopf) post them
        body.update(eventTime=NOW, action="Create", reportingComponent="awsorg-operator",
                    reportingInstance="awsorg-operator-0")
    return {**body, **fields}


def post(kube_sandbox: KubeSandbox, body: dict[str, Any]) -> dict[str, Any]:
    client = KubeClient(kube_sandbox.url, group="", version="v1")
    namespace = body["metadata"]["namespace"]
    result: dict[str, Any] = client.request("POST", f"/api/v1/namespaces/{namespace}/events", body)
    return result


@pytest.mark.parametrize("body", [
    event("default"),  # a cluster-scoped object's event, old style: "" or "default"
    event("default", new=True),  # with an eventTime: default or kube-system
    event("kube-system", new=True),
    event("team", "team"),  # a namespaced object's event lives in its namespace
    event("default", "team", new=True),  # with an eventTime the namespaces are not compared
], ids=["old-cluster-default", "new-cluster-default", "new-cluster-kube-system", "namespaced", "new-other-ns"])
def test_accepted(kube_sandbox: KubeSandbox, body: dict[str, Any]) -> None:
    if body["metadata"]["namespace"] == "team":
        KubeClient(kube_sandbox.url, group="", version="v1").create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}, "namespaces")
    assert post(kube_sandbox, body)["metadata"]["name"] == "e1"


@pytest.mark.parametrize(("body", "message"), [
    (event("team"), 'involvedObject.namespace: Invalid value: "": does not match event.namespace'),
    (event("default", "team"), 'involvedObject.namespace: Invalid value: "team": does not match event.namespace'),
    (event("team", new=True), 'involvedObject.namespace: Invalid value: "": does not match event.namespace'),
    (event("default", new=True, reportingComponent=""),
     '[reportingController: Required value, reportingController: Invalid value: "": name part must be non-empty]'),
    (event("default", new=True, reportingComponent="awsorg operator"),
     'reportingController: Invalid value: "awsorg operator": name part must consist of alphanumeric characters'),
    (event("default", new=True, action=""), "action: Required value"),
    (event("default", new=True, reason="x" * 129), 'reason: Invalid value: "": can have at most 128 characters'),
    (event("default", new=True, message="x" * 1025),
     'message: Invalid value: "": can have at most 1024 characters'),
    (event("default", new=True, message="é" * 513),  # 513 characters, 1,026 bytes: Go's len() counts bytes
     'message: Invalid value: "": can have at most 1024 characters'),
], ids=["old-cluster-other-ns", "old-ns-mismatch", "new-cluster-other-ns", "no-controller", "bad-controller",
        "no-action", "long-reason", "long-message", "long-message-in-bytes"])
def test_refused_with_the_servers_message(kube_sandbox: KubeSandbox, body: dict[str, Any], message: str) -> None:
    KubeClient(kube_sandbox.url, group="", version="v1").create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}, "namespaces")
    with pytest.raises(KubeError) as exc:
        post(kube_sandbox, body)
    assert exc.value.status == 422 and exc.value.message.startswith(f'Event "e1" is invalid: {message}'), exc.value
    assert kube_sandbox.events() == []
