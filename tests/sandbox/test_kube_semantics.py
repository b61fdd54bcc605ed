"""The sandbox API server refuses what a real one refuses, with its wording (rules and sources: kube_meta.py).

Over HTTP against a fresh sandbox per test: PUT without resourceVersion, strategic merge patch on a custom
resource, metadata validation, field selectors, namespaces that do not exist, list/watch options and
watch bookmarks. Each refused request is checked to have changed nothing.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient, KubeError
from tests.sandbox.conftest import GROUP, PLURAL, widget
from tests.sandbox.test_kube_api import BASE, raw, watch
from tests.sandbox.test_kube_kubectl import KUBECTL, make_kubectl

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
EVENTS = "/api/v1/namespaces/default/events"


def status_of(kclient: KubeClient, name: str) -> dict[str, Any]:
    return kclient.get(PLURAL, name)


def event(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name}, "type": "Normal",
            "reason": "Created", "message": name, **fields}


# ----------------------------------------------------------------------------------------------
# PUT needs a resourceVersion for custom resources (and CRDs).
# ----------------------------------------------------------------------------------------------

def test_put_without_resource_version_is_refused_for_custom_resources(kube_sandbox: KubeSandbox,
                                                                      kclient: KubeClient) -> None:
    before = kclient.create(widget("alpha"), PLURAL)
    body = widget("alpha", size=7)
    status, answer = raw(kube_sandbox.url, "PUT", f"{BASE}/alpha", body)
    assert status == 422, answer
    assert answer["reason"] == "Invalid"
    assert answer["message"] == (f'{PLURAL}.{GROUP} "alpha" is invalid: metadata.resourceVersion: '
                                 "Invalid value: 0x0: must be specified for an update")
    assert answer["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                                            "message": "Invalid value: 0x0: must be specified for an update"}]
    assert kclient.get(PLURAL, "alpha") == before  # nothing changed

    status, answer = raw(kube_sandbox.url, "PUT", f"{BASE}/alpha/status", {**body, "status": {"phase": "Created"}})
    assert status == 422 and "must be specified for an update" in answer["message"]

    crd = kube_sandbox.get("customresourcedefinitions", f"{PLURAL}.{GROUP}")
    assert crd is not None
    del crd["metadata"]["resourceVersion"]
    status, answer = raw(kube_sandbox.url, "PUT", f"{CRDS}/{PLURAL}.{GROUP}", crd)
    assert status == 422 and answer["message"].startswith(
        f'customresourcedefinitions.apiextensions.k8s.io "{PLURAL}.{GROUP}" is invalid: metadata.resourceVersion')

    # With the resourceVersion it is an ordinary update.
    body["metadata"]["resourceVersion"] = before["metadata"]["resourceVersion"]
    status, answer = raw(kube_sandbox.url, "PUT", f"{BASE}/alpha", body)
    assert status == 200 and answer["spec"]["size"] == 7


def test_put_without_resource_version_is_allowed_for_namespaces(kube_sandbox: KubeSandbox) -> None:
    # Built-in kinds whose strategy allows unconditional updates keep allowing them.
    status, ns = raw(kube_sandbox.url, "POST", "/api/v1/namespaces", {"metadata": {"name": "team-a"}})
    assert status == 201
    del ns["metadata"]["resourceVersion"]
    ns["metadata"]["labels"] = {"team": "a"}
    status, answer = raw(kube_sandbox.url, "PUT", "/api/v1/namespaces/team-a", ns)
    assert status == 200 and answer["metadata"]["labels"] == {"team": "a"}


# ----------------------------------------------------------------------------------------------
# Patch types.
# ----------------------------------------------------------------------------------------------

def test_strategic_merge_patch_on_a_custom_resource_is_415(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    before = kclient.create(widget("alpha"), PLURAL)
    for path in (f"{BASE}/alpha", f"{BASE}/alpha/status", f"{BASE}/missing"):
        status, answer = raw(kube_sandbox.url, "PATCH", path, {"spec": {"size": 5}},
                             content_type="application/strategic-merge-patch+json")
        assert status == 415, (path, answer)
        assert answer["reason"] == "UnsupportedMediaType"
        assert answer["message"] == ("the body of the request was in an unknown format - accepted media types "
                                     "include: application/json-patch+json, application/merge-patch+json, "
                                     "application/apply-patch+yaml")
    assert kclient.get(PLURAL, "alpha") == before
    # A built-in kind (here a namespace) takes it.
    status, answer = raw(kube_sandbox.url, "PATCH", "/api/v1/namespaces/default",
                         {"metadata": {"labels": {"a": "b"}}}, content_type="application/strategic-merge-patch+json")
    assert status == 200 and answer["metadata"]["labels"] == {"a": "b"}


# ----------------------------------------------------------------------------------------------
# Metadata.
# ----------------------------------------------------------------------------------------------

def causes_of(exc: pytest.ExceptionInfo[KubeError]) -> list[tuple[str, str]]:
    assert exc.value.status == 422, exc.value.body
    return [(c["field"], c["message"]) for c in exc.value.body["details"]["causes"]]


def test_label_keys_and_values_are_validated(kclient: KubeClient) -> None:
    bad = widget("alpha")
    bad["metadata"]["labels"] = {"team/a/b": "ok", "tier": "not ok!"}
    with pytest.raises(KubeError) as exc:
        kclient.create(bad, PLURAL)
    assert causes_of(exc) == [
        ("metadata.labels", 'Invalid value: "team/a/b": a qualified name must consist of alphanumeric characters, '
                            "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
                            "or 'my.name',  or '123-abc', regex used for validation is "
                            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
                            "(e.g. 'example.com/MyName')"),
        ("metadata.labels", 'Invalid value: "not ok!": a valid label must be an empty string or consist of '
                            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                            "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    ]
    assert exc.value.message.startswith(f'Widget.{GROUP} "alpha" is invalid: [metadata.labels: Invalid value: ')
    kclient.create(widget("beta"), PLURAL)
    with pytest.raises(KubeError) as exc:
        kclient.patch(PLURAL, "beta", {"metadata": {"labels": {"x" * 64: "v", "Example.com/ok": "v"}}})
    assert [field for field, _ in causes_of(exc)] == ["metadata.labels", "metadata.labels"]
    assert "name part must be no more than 63 characters" in exc.value.message
    assert "prefix part a lowercase RFC 1123 subdomain" in exc.value.message
    assert "labels" not in kclient.get(PLURAL, "beta")["metadata"]
    good = kclient.patch(PLURAL, "beta", {"metadata": {"labels": {"example.com/team": "a.b_c-1", "empty": ""}}})
    assert good["metadata"]["labels"] == {"example.com/team": "a.b_c-1", "empty": ""}


def test_annotations_total_size_is_limited_to_256_kib(kclient: KubeClient) -> None:
    kclient.create(widget("alpha"), PLURAL)
    key = "example.com/big"
    with pytest.raises(KubeError) as exc:
        kclient.patch(PLURAL, "alpha", {"metadata": {"annotations": {key: "x" * (262144 - len(key) + 1)}}})
    assert causes_of(exc) == [("metadata.annotations", "Too long: may not be more than 262144 bytes")]
    assert "annotations" not in kclient.get(PLURAL, "alpha")["metadata"]
    exact = kclient.patch(PLURAL, "alpha", {"metadata": {"annotations": {key: "x" * (262144 - len(key))}}})
    assert len(exact["metadata"]["annotations"][key]) == 262144 - len(key)
    with pytest.raises(KubeError) as exc:
        kclient.patch(PLURAL, "alpha", {"metadata": {"annotations": {"bad key": "v"}}})
    assert causes_of(exc)[0][1].startswith('Invalid value: "bad key": name part must consist of alphanumeric')


def test_finalizer_names_and_no_new_finalizers_while_deleting(kclient: KubeClient) -> None:
    with pytest.raises(KubeError) as exc:
        kclient.create({**widget("alpha"), "metadata": {"name": "alpha", "finalizers": ["not a finalizer"]}},
                       PLURAL)
    assert causes_of(exc)[0][0] == "metadata.finalizers"
    assert causes_of(exc)[0][1].startswith('Invalid value: "not a finalizer": name part must consist of')

    kclient.create({**widget("alpha"), "metadata": {"name": "alpha", "finalizers": ["example.com/hold"]}}, PLURAL)
    kclient.delete(PLURAL, "alpha")
    deleting = kclient.get(PLURAL, "alpha")
    assert deleting["metadata"]["deletionTimestamp"]
    with pytest.raises(KubeError) as exc:
        kclient.patch(PLURAL, "alpha", {"metadata": {"finalizers": ["example.com/hold", "example.com/more"]}})
    assert causes_of(exc) == [("metadata.finalizers", "Forbidden: no new finalizers can be added if the object "
                                                      'is being deleted, found new finalizers '
                                                      '[]string{"example.com/more"}')]
    assert exc.value.message == (f'Widget.{GROUP} "alpha" is invalid: metadata.finalizers: Forbidden: no new '
                                 'finalizers can be added if the object is being deleted, found new finalizers '
                                 '[]string{"example.com/more"}')
    assert kclient.get(PLURAL, "alpha") == deleting
    # Removing the last finalizer still completes the deletion.
    kclient.patch(PLURAL, "alpha", {"metadata": {"finalizers": None}})
    with pytest.raises(KubeError) as exc:
        kclient.get(PLURAL, "alpha")
    assert exc.value.status == 404


# ----------------------------------------------------------------------------------------------
# Field selectors.
# ----------------------------------------------------------------------------------------------

def test_field_selectors_on_custom_resources(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    kclient.create(widget("alpha", size=4), PLURAL)
    kclient.create(widget("beta"), PLURAL)
    status, found = raw(kube_sandbox.url, "GET", f"{BASE}?fieldSelector=metadata.name%3Dbeta")
    assert status == 200 and [o["metadata"]["name"] for o in found["items"]] == ["beta"]
    status, found = raw(kube_sandbox.url, "GET", f"{BASE}?fieldSelector=metadata.name!%3Dbeta")
    assert status == 200 and [o["metadata"]["name"] for o in found["items"]] == ["alpha"]
    for selector, message in [
        ("spec.size=4", "field label not supported: spec.size"),
        # Widgets are cluster-scoped: crConverter refuses metadata.namespace for them.
        ("metadata.namespace=default", "field label not supported: metadata.namespace"),
        ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ]:
        query = urllib.parse.urlencode({"fieldSelector": selector})
        for params in (query, f"{query}&watch=true"):
            status, answer = raw(kube_sandbox.url, "GET", f"{BASE}?{params}")
            assert (status, answer["reason"], answer["message"]) == (400, "BadRequest", message), params


def test_field_selectors_on_events_namespaces_and_crds(kube_sandbox: KubeSandbox) -> None:
    involved = {"kind": "Widget", "name": "alpha", "apiVersion": f"{GROUP}/v1", "uid": "u-1"}
    for name, extra in [("one", {"involvedObject": involved, "source": {"component": "awsorg"}}),
                        ("two", {"involvedObject": {**involved, "name": "beta"}, "type": "Warning",
                                 "reportingComponent": "kopf"})]:
        assert raw(kube_sandbox.url, "POST", EVENTS, event(name, **extra))[0] == 201

    def names(path: str, selector: str) -> list[str]:
        status, found = raw(kube_sandbox.url, "GET", f"{path}?{urllib.parse.urlencode({'fieldSelector': selector})}")
        assert status == 200, found
        return [o["metadata"]["name"] for o in found["items"]]

    # What `kubectl describe` asks for, and the other event fields the server knows.
    assert names(EVENTS, f"involvedObject.name=alpha,involvedObject.namespace=,involvedObject.kind=Widget,"
                         f"involvedObject.uid=u-1,involvedObject.apiVersion={GROUP}/v1") == ["one"]
    assert names(EVENTS, "type=Warning") == ["two"]
    assert names(EVENTS, "source=awsorg") == ["one"]
    assert names(EVENTS, "source=kopf") == ["two"]  # source falls back to reportingComponent
    assert names(EVENTS, "reportingComponent=kopf,reason=Created") == ["two"]
    assert names("/api/v1/namespaces", "status.phase=Active,metadata.name=default") == ["default"]
    assert names(CRDS, f"metadata.name={PLURAL}.{GROUP}") == [f"{PLURAL}.{GROUP}"]
    for path, selector, message in [
        (EVENTS, "message=one", "field label not supported: message"),
        (EVENTS, "involvedObject.labels=x", "field label not supported: involvedObject.labels"),
        ("/api/v1/namespaces", "spec.finalizers=kubernetes", "field label not supported: spec.finalizers"),
        (CRDS, "spec.group=x", '"spec.group" is not a known field selector: only "metadata.name", '
                               '"metadata.namespace"'),
    ]:
        status, answer = raw(kube_sandbox.url, "GET", f"{path}?{urllib.parse.urlencode({'fieldSelector': selector})}")
        assert (status, answer["message"]) == (400, message)


def test_selectable_fields_of_a_crd_version(kube_sandbox: KubeSandbox, widget_crd: dict[str, Any]) -> None:
    gadgets = json.loads(json.dumps(widget_crd).replace("widget", "gadget").replace("Widget", "Gadget"))
    gadgets["spec"]["names"]["shortNames"] = ["gd"]
    gadgets["spec"]["versions"][0]["selectableFields"] = [{"jsonPath": ".spec.mode"}]
    assert raw(kube_sandbox.url, "POST", CRDS, gadgets)[0] == 201
    client = KubeClient(kube_sandbox.url, group=GROUP, version="v1")
    client.create({**widget("one", mode="Slow"), "kind": "Gadget"}, "gadgets")
    client.create({**widget("two"), "kind": "Gadget"}, "gadgets")
    status, found = raw(kube_sandbox.url, "GET", f"/apis/{GROUP}/v1/gadgets?fieldSelector=spec.mode%3DSlow")
    assert status == 200 and [o["metadata"]["name"] for o in found["items"]] == ["one"]


# ----------------------------------------------------------------------------------------------
# Namespaces that do not exist.
# ----------------------------------------------------------------------------------------------

def test_namespaced_objects_need_an_existing_namespace(kube_sandbox: KubeSandbox) -> None:
    status, answer = raw(kube_sandbox.url, "POST", "/api/v1/namespaces/nowhere/events", event("lost"))
    assert (status, answer["reason"], answer["message"]) == (404, "NotFound", 'namespaces "nowhere" not found')
    assert answer["details"] == {"name": "nowhere", "kind": "namespaces"}
    assert kube_sandbox.events("nowhere") == []
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"}}
    status, answer = raw(kube_sandbox.url, "POST", "/apis/coordination.k8s.io/v1/namespaces/nowhere/leases", lease)
    assert (status, answer["message"]) == (404, 'namespaces "nowhere" not found')

    # Once the namespace exists, the same request is fine.
    assert raw(kube_sandbox.url, "POST", "/api/v1/namespaces", {"metadata": {"name": "nowhere"}})[0] == 201
    about = {"kind": "Lease", "name": "leader", "namespace": "nowhere"}  # as the server's event validation asks
    found = event("found", involvedObject=about)
    assert raw(kube_sandbox.url, "POST", "/api/v1/namespaces/nowhere/events", found)[0] == 201

    # A namespace being deleted takes no new objects.
    held = {"metadata": {"name": "closing", "finalizers": ["example.com/hold"]}}
    assert raw(kube_sandbox.url, "POST", "/api/v1/namespaces", held)[0] == 201
    assert raw(kube_sandbox.url, "DELETE", "/api/v1/namespaces/closing")[0] == 200
    status, answer = raw(kube_sandbox.url, "POST", "/api/v1/namespaces/closing/events", event("late"))
    assert (status, answer["reason"]) == (403, "Forbidden")
    assert answer["message"] == ('events "late" is forbidden: unable to create new content in namespace closing '
                                 "because it is being terminated")


# ----------------------------------------------------------------------------------------------
# List and watch options; bookmarks.
# ----------------------------------------------------------------------------------------------

def test_send_initial_events_needs_resource_version_match(kube_sandbox: KubeSandbox) -> None:
    def get(**params: str) -> tuple[int, Any]:
        return raw(kube_sandbox.url, "GET", f"{BASE}?{urllib.parse.urlencode(params)}")

    prefix = 'ListOptions.meta.k8s.io "" is invalid: '
    status, answer = get(watch="true", sendInitialEvents="true")
    assert (status, answer["message"]) == (422, prefix + "resourceVersionMatch: Forbidden: sendInitialEvents "
                                                         "requires setting resourceVersionMatch to NotOlderThan")
    assert answer["details"] == {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [
        {"reason": "FieldValueForbidden", "field": "resourceVersionMatch",
         "message": "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"}]}
    status, answer = get(watch="true", resourceVersionMatch="NotOlderThan")
    assert (status, answer["message"]) == (422, prefix + "resourceVersionMatch: Forbidden: resourceVersionMatch is "
                                                         "forbidden for watch unless sendInitialEvents is provided")
    status, answer = get(watch="true", sendInitialEvents="true", resourceVersionMatch="Exact")
    assert status == 422 and answer["message"] == prefix + (
        "[resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, "
        'resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]')
    status, answer = get(sendInitialEvents="true", resourceVersionMatch="NotOlderThan", resourceVersion="0")
    assert (status, answer["message"]) == (422, prefix + "sendInitialEvents: Forbidden: sendInitialEvents is "
                                                         "forbidden for list")
    status, answer = get(resourceVersionMatch="NotOlderThan")
    assert (status, answer["message"]) == (422, prefix + "resourceVersionMatch: Forbidden: resourceVersionMatch is "
                                                         "forbidden unless resourceVersion is provided")
    assert get(resourceVersionMatch="NotOlderThan", resourceVersion="0")[0] == 200


def test_send_initial_events_ends_with_a_bookmark(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    kclient.create(widget("alpha"), PLURAL)
    events = watch(kube_sandbox.url, BASE, count=2, sendInitialEvents="true", resourceVersionMatch="NotOlderThan",
                   allowWatchBookmarks="true")
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_bookmarks_only_when_allowed(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    kube_sandbox.emulator.bookmark_seconds = 0.2
    created = kclient.create(widget("alpha"), PLURAL)
    since = created["metadata"]["resourceVersion"]
    started = time.monotonic()
    events = watch(kube_sandbox.url, BASE, count=1, resourceVersion=since, allowWatchBookmarks="true")
    assert time.monotonic() - started < 2
    assert events == [{"type": "BOOKMARK", "object": {"kind": "Widget", "apiVersion": f"{GROUP}/v1",
                                                      "metadata": {"resourceVersion": since}}}]

    # Without allowWatchBookmarks, none comes before the (3 s) timeout ends the stream; with it and a
    # timeout, one comes 2 s before the deadline, however long the period (cache_watcher.go).
    kube_sandbox.emulator.bookmark_seconds = 60
    started = time.monotonic()
    events = watch(kube_sandbox.url, BASE, count=1, resourceVersion=since, timeoutSeconds="3",
                   allowWatchBookmarks="true")
    assert [e["type"] for e in events] == ["BOOKMARK"] and 0.8 < time.monotonic() - started < 2.5
    kube_sandbox.emulator.bookmark_seconds = 0.2
    events = watch(kube_sandbox.url, BASE, count=1, resourceVersion=since, timeoutSeconds="1")
    assert events == []


# ----------------------------------------------------------------------------------------------
# The same, as kubectl meets it.
# ----------------------------------------------------------------------------------------------

@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_patch_needs_type_merge_and_field_selectors(kube_sandbox: KubeSandbox, kclient: KubeClient,
                                                           tmp_path: Path) -> None:
    kubectl = make_kubectl(kube_sandbox, tmp_path)
    kclient.create(widget("alpha"), PLURAL)
    refused = kubectl("patch", "wg", "alpha", "-p", '{"spec": {"size": 5}}', check=False)
    assert refused.returncode != 0
    assert ("the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            in refused.stderr)
    assert kclient.get(PLURAL, "alpha")["spec"]["size"] == 3
    kubectl("patch", "wg", "alpha", "--type", "merge", "-p", '{"spec": {"size": 5}}')
    assert kclient.get(PLURAL, "alpha")["spec"]["size"] == 5

    assert raw(kube_sandbox.url, "POST", EVENTS, event("one", involvedObject={"kind": "Widget", "name": "alpha"}))[0] \
        == 201
    found = kubectl("get", "events", "--field-selector", "involvedObject.name=alpha", "-o", "name").stdout
    assert found.split() == ["event/one"]
    refused = kubectl("get", "events", "--field-selector", "message=one", check=False)
    assert refused.returncode != 0 and "field label not supported: message" in refused.stderr
