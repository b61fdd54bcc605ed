"""HTTP-level behaviour of the sandbox Kubernetes API server, as a real API server behaves."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from controller.api import cel as _kube_cel
from controller.sandbox import _kube_table
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient, KubeError
from tests.sandbox.conftest import GROUP, PLURAL, VERSION, widget

BASE = f"/apis/{GROUP}/{VERSION}/{PLURAL}"
TABLE = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
         "application/json")


def raw(url: str, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
        content_type: str = "application/json") -> tuple[int, Any]:
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=10)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs["Content-Type"] = content_type
    conn.request(method, path, body=data, headers=hdrs)
    rsp = conn.getresponse()
    payload = rsp.read()
    conn.close()
    return rsp.status, json.loads(payload) if payload else None


def watch(url: str, path: str, *, count: int, timeout: float = 5.0, **params: str) -> list[dict[str, Any]]:
    """Read ``count`` events (or until the server ends the stream)."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=timeout)
    conn.request("GET", f"{path}?{urllib.parse.urlencode({'watch': 'true', **params})}")
    rsp = conn.getresponse()
    assert rsp.status == 200
    events: list[dict[str, Any]] = []
    try:
        while len(events) < count:
            line = rsp.readline()
            if not line:
                break
            events.append(json.loads(line))
    finally:
        conn.close()
    return events


def invalid(exc: pytest.ExceptionInfo[KubeError]) -> list[dict[str, str]]:
    assert exc.value.status == 422, exc.value.body
    body = exc.value.body
    assert body["kind"] == "Status" and body["reason"] == "Invalid" and body["code"] == 422
    causes: list[dict[str, str]] = body["details"]["causes"]
    return causes


# ----------------------------------------------------------------------------------------------
# Metadata: resourceVersion, generation, uid.
# ----------------------------------------------------------------------------------------------

def test_create_sets_server_metadata_drops_status_defaults_and_prunes(kclient: KubeClient) -> None:
    obj = widget("alpha", junk=1)
    obj["status"] = {"phase": "Created"}
    obj["unknownTop"] = True
    created = kclient.create(obj, PLURAL)
    meta = created["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert "status" not in created  # create cannot set the status of a status-subresource kind
    assert "unknownTop" not in created
    assert created["spec"] == {"name": "Alpha", "size": 3, "mode": "Fast", "options": {"retries": 2}}
    assert created["apiVersion"] == f"{GROUP}/{VERSION}" and created["kind"] == "Widget"
    assert kclient.get(PLURAL, "alpha") == created


def test_resource_version_and_generation(kclient: KubeClient) -> None:
    rv0 = int(kclient.create(widget("alpha"), PLURAL)["metadata"]["resourceVersion"])

    labelled = kclient.patch(PLURAL, "alpha", {"metadata": {"labels": {"team": "a"}}})
    assert int(labelled["metadata"]["resourceVersion"]) > rv0
    assert labelled["metadata"]["generation"] == 1  # metadata changes do not bump generation

    spec_changed = kclient.patch(PLURAL, "alpha", {"spec": {"size": 5}})
    assert spec_changed["metadata"]["generation"] == 2

    status_changed = kclient.patch(PLURAL, "alpha", {"status": {"phase": "Created"}}, subresource="status")
    assert status_changed["metadata"]["generation"] == 2
    assert int(status_changed["metadata"]["resourceVersion"]) > int(spec_changed["metadata"]["resourceVersion"])

    noop = kclient.patch(PLURAL, "alpha", {"spec": {"size": 5}})
    assert noop["metadata"]["resourceVersion"] == status_changed["metadata"]["resourceVersion"]

    # Clients cannot overwrite server-managed fields.
    forged = kclient.patch(PLURAL, "alpha", {"metadata": {"uid": "forged", "generation": 99,
                                                          "creationTimestamp": "2000-01-01T00:00:00Z"}})
    assert forged["metadata"]["uid"] == labelled["metadata"]["uid"]
    assert forged["metadata"]["generation"] == 2


def test_create_conflict_and_not_found(kclient: KubeClient) -> None:
    kclient.create(widget("alpha"), PLURAL)
    with pytest.raises(KubeError) as exc:
        kclient.create(widget("alpha"), PLURAL)
    assert exc.value.status == 409 and exc.value.reason == "AlreadyExists"
    assert exc.value.message == f'{PLURAL}.{GROUP} "alpha" already exists'
    with pytest.raises(KubeError) as exc:
        kclient.get(PLURAL, "missing")
    assert exc.value.status == 404 and exc.value.reason == "NotFound"
    assert exc.value.message == f'{PLURAL}.{GROUP} "missing" not found'
    assert exc.value.body["details"] == {"name": "missing", "group": GROUP, "kind": PLURAL}


# ----------------------------------------------------------------------------------------------
# Status subresource, patches and optimistic concurrency.
# ----------------------------------------------------------------------------------------------

def test_status_subresource_semantics(kclient: KubeClient) -> None:
    kclient.create(widget("alpha", size=2), PLURAL)
    via_main = kclient.patch(PLURAL, "alpha", {"spec": {"size": 4}, "status": {"phase": "Created"}})
    assert via_main["spec"]["size"] == 4 and "status" not in via_main

    via_status = kclient.patch(PLURAL, "alpha", {"spec": {"size": 9}, "status": {"phase": "Updated"}},
                               subresource="status")
    assert via_status["spec"]["size"] == 4  # the whole object is returned, the spec is untouched
    assert via_status["status"] == {"phase": "Updated"}

    current = kclient.get(PLURAL, "alpha")
    current["status"] = {"phase": "Created", "observedGeneration": 2}
    current["spec"]["size"] = 1
    replaced = kclient.replace(PLURAL, "alpha", current, subresource="status")
    assert replaced["status"] == {"phase": "Created", "observedGeneration": 2}
    assert replaced["spec"]["size"] == 4

    current = kclient.get(PLURAL, "alpha")
    current["status"] = {}
    current["spec"]["size"] = 6
    replaced = kclient.replace(PLURAL, "alpha", current)
    assert replaced["spec"]["size"] == 6 and replaced["status"]["phase"] == "Created"


def test_json_patch_with_resource_version_test(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    obj = kclient.create(widget("alpha"), PLURAL)
    rv = obj["metadata"]["resourceVersion"]
    ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
           {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]}]
    patched = kclient.json_patch(PLURAL, "alpha", ops)
    assert patched["metadata"]["finalizers"] == ["x/y"]

    with pytest.raises(KubeError) as exc:  # the same test op again: the resourceVersion has moved on
        kclient.json_patch(PLURAL, "alpha", ops)
    assert exc.value.status == 422 and exc.value.reason == "Invalid"

    with pytest.raises(KubeError) as exc:
        kclient.json_patch(PLURAL, "alpha", [{"op": "remove", "path": "/spec/nonexistent"}])
    assert exc.value.status == 422

    status_ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": patched["metadata"]["resourceVersion"]},
                  {"op": "add", "path": "/status", "value": {"phase": "Created"}}]
    assert kclient.json_patch(PLURAL, "alpha", status_ops, subresource="status")["status"] == {"phase": "Created"}

    # Server-side apply needs a field manager (tests/sandbox/test_kube_apply.py covers apply itself).
    status, body = raw(kube_sandbox.url, "PATCH", f"{BASE}/alpha", b"{}",
                       content_type="application/apply-patch+yaml")
    assert status == 422 and body["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                                 "Required value: is required for apply patch")


def test_replace_and_merge_patch_with_stale_resource_version_conflict(kclient: KubeClient) -> None:
    obj = kclient.create(widget("alpha"), PLURAL)
    kclient.patch(PLURAL, "alpha", {"spec": {"size": 4}})
    obj["spec"]["size"] = 5
    with pytest.raises(KubeError) as exc:
        kclient.replace(PLURAL, "alpha", obj)
    assert exc.value.status == 409 and exc.value.reason == "Conflict"
    assert "the object has been modified" in exc.value.message
    with pytest.raises(KubeError) as exc:
        kclient.patch(PLURAL, "alpha", {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                        "spec": {"size": 6}})
    assert exc.value.status == 409
    fresh = kclient.get(PLURAL, "alpha")
    fresh["spec"]["size"] = 7
    assert kclient.replace(PLURAL, "alpha", fresh)["spec"]["size"] == 7


def test_merge_patch_null_removes_fields(kclient: KubeClient) -> None:
    kclient.create(widget("alpha", tags={"a": "1", "b": "2"}), PLURAL)
    patched = kclient.patch(PLURAL, "alpha", {"spec": {"tags": {"a": None, "c": "3"}}})
    assert patched["spec"]["tags"] == {"b": "2", "c": "3"}


# ----------------------------------------------------------------------------------------------
# Deletion and finalizers.
# ----------------------------------------------------------------------------------------------

def test_delete_with_and_without_finalizers(kclient: KubeClient) -> None:
    obj = widget("alpha")
    obj["metadata"]["finalizers"] = ["test/keep"]
    kclient.create(obj, PLURAL)
    deleting = kclient.delete(PLURAL, "alpha")
    stamp = deleting["metadata"]["deletionTimestamp"]
    assert deleting["metadata"]["generation"] == 2
    assert kclient.get(PLURAL, "alpha")["metadata"]["deletionTimestamp"] == stamp
    again = kclient.delete(PLURAL, "alpha")
    assert again["metadata"]["deletionTimestamp"] == stamp
    assert again["metadata"]["resourceVersion"] == deleting["metadata"]["resourceVersion"]

    kclient.patch(PLURAL, "alpha", {"metadata": {"finalizers": None}})
    with pytest.raises(KubeError) as exc:
        kclient.get(PLURAL, "alpha")
    assert exc.value.status == 404

    kclient.create(widget("beta"), PLURAL)
    result = kclient.delete(PLURAL, "beta")
    assert result["kind"] == "Status" and result["status"] == "Success"
    with pytest.raises(KubeError):
        kclient.get(PLURAL, "beta")
    kclient.create(widget("beta"), PLURAL)  # the name is free again


# ----------------------------------------------------------------------------------------------
# Lists and watches.
# ----------------------------------------------------------------------------------------------

def test_list_kind_version_and_selectors(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    a = widget("alpha")
    a["metadata"]["labels"] = {"team": "a"}
    kclient.create(a, PLURAL)
    kclient.create(widget("beta"), PLURAL)
    status, body = raw(kube_sandbox.url, "GET", BASE)
    assert status == 200
    assert body["kind"] == "WidgetList" and body["apiVersion"] == f"{GROUP}/{VERSION}"
    assert body["metadata"]["resourceVersion"] == str(kube_sandbox.resource_version)
    assert [i["metadata"]["name"] for i in body["items"]] == ["alpha", "beta"]
    assert all(i["kind"] == "Widget" for i in body["items"])
    assert [o["metadata"]["name"] for o in kclient.list(PLURAL, label_selector="team=a")] == ["alpha"]
    assert [o["metadata"]["name"] for o in kclient.list(PLURAL, label_selector="!team")] == ["beta"]
    _, body = raw(kube_sandbox.url, "GET", f"{BASE}?fieldSelector=metadata.name%3Dbeta")
    assert [i["metadata"]["name"] for i in body["items"]] == ["beta"]


def test_watch_without_version_lists_then_follows(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    kclient.create(widget("alpha"), PLURAL)
    result: list[dict[str, Any]] = []
    thread = threading.Thread(target=lambda: result.extend(watch(kube_sandbox.url, BASE, count=2)))
    thread.start()
    time.sleep(0.3)
    kclient.patch(PLURAL, "alpha", {"spec": {"size": 4}})
    thread.join(timeout=10)
    assert [e["type"] for e in result] == ["ADDED", "MODIFIED"]
    assert result[1]["object"]["spec"]["size"] == 4


def test_watch_from_resource_version_streams_only_later_events(kube_sandbox: KubeSandbox,
                                                               kclient: KubeClient) -> None:
    kclient.create(widget("alpha"), PLURAL)
    rv = kclient.patch(PLURAL, "alpha", {"spec": {"size": 4}})["metadata"]["resourceVersion"]
    kclient.patch(PLURAL, "alpha", {"spec": {"size": 5}})
    kclient.create(widget("beta"), PLURAL)
    kclient.delete(PLURAL, "beta")
    events = watch(kube_sandbox.url, BASE, count=3, resourceVersion=rv)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("MODIFIED", "alpha"), ("ADDED", "beta"), ("DELETED", "beta")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(rv)


def test_watch_timeout_ends_the_stream(kube_sandbox: KubeSandbox) -> None:
    started = time.monotonic()
    events = watch(kube_sandbox.url, BASE, count=10, timeoutSeconds="1",
                   resourceVersion=str(kube_sandbox.resource_version))
    assert events == []
    assert 0.9 < time.monotonic() - started < 4


@pytest.fixture
def small_history_sandbox(widget_crd: dict[str, Any]) -> Iterator[KubeSandbox]:
    sandbox = KubeSandbox([widget_crd], history_size=3).start()
    yield sandbox
    sandbox.stop()


def test_watch_from_too_old_version_is_gone(small_history_sandbox: KubeSandbox) -> None:
    client = KubeClient(small_history_sandbox.url, group=GROUP, version=VERSION)
    rv = client.create(widget("alpha"), PLURAL)["metadata"]["resourceVersion"]
    for size in range(4, 9):
        client.patch(PLURAL, "alpha", {"spec": {"size": size}})
    events = watch(small_history_sandbox.url, BASE, count=5, resourceVersion=rv)
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
    # A recent enough version still works.
    recent = str(int(client.get(PLURAL, "alpha")["metadata"]["resourceVersion"]) - 1)
    assert [e["type"] for e in watch(small_history_sandbox.url, BASE, count=1, resourceVersion=recent)] == [
        "MODIFIED"]


# ----------------------------------------------------------------------------------------------
# Validation, defaulting, pruning.
# ----------------------------------------------------------------------------------------------

def test_validation_error_names_the_field_like_the_api_server(kclient: KubeClient) -> None:
    with pytest.raises(KubeError) as exc:
        kclient.create(widget("alpha", name="x" * 17), PLURAL)
    causes = invalid(exc)
    assert exc.value.message == 'Widget.sandbox.test.dev "alpha" is invalid: spec.name: Too long: may not be ' \
                                'more than 16 bytes'
    assert causes == [{"reason": "FieldValueTooLong", "field": "spec.name",
                       "message": "Too long: may not be more than 16 bytes"}]


@pytest.mark.parametrize(("spec", "field", "reason", "detail"), [
    ({"name": None}, "spec.name", "FieldValueRequired", "Required value"),
    ({"name": "9lives"}, "spec.name", "FieldValueInvalid", "should match"),
    ({"name": ""}, "spec.name", "FieldValueInvalid", "at least 1 chars long"),
    ({"mode": "Turbo"}, "spec.mode", "FieldValueNotSupported",
     'Unsupported value: "Turbo": supported values: "Fast", "Slow"'),
    ({"size": 11}, "spec.size", "FieldValueInvalid", "less than or equal to 10"),
    ({"size": "big"}, "spec.size", "FieldValueTypeInvalid", "must be of type integer"),
    ({"ids": ["123456789012", "nope"]}, "spec.ids[1]", "FieldValueInvalid", "should match"),
    ({"ids": ["123456789012"] * 4}, "spec.ids", "FieldValueTooMany", "must have at most 3 items"),
    ({"tags": {"a": "1", "b": "2", "c": "3"}}, "spec.tags", "FieldValueTooMany", "must have at most 2 items"),
    ({"email": "not-an-email"}, "spec.email", "FieldValueInvalid", "must be of type email"),
    ({"parentRef": {"name": "much-too-long"}}, "spec.parentRef.name", "FieldValueTooLong", "more than 8"),
    ({"parentRef": {}}, "spec.parentRef.name", "FieldValueRequired", "Required value"),
    ({"parentRef": {"name": "a"}, "parentId": "ou-1"}, "spec", "FieldValueInvalid",
     "parentRef and parentId are mutually exclusive"),
])
def test_validation_rules(kclient: KubeClient, spec: dict[str, Any], field: str, reason: str, detail: str) -> None:
    obj = widget("alpha")
    obj["spec"].update(spec)
    obj["spec"] = {k: v for k, v in obj["spec"].items() if v is not None}
    with pytest.raises(KubeError) as exc:
        kclient.create(obj, PLURAL)
    causes = invalid(exc)
    assert {c["field"] for c in causes} == {field}, causes
    assert causes[0]["reason"] == reason and detail in causes[0]["message"], causes
    assert exc.value.message.startswith('Widget.sandbox.test.dev "alpha" is invalid: ')
    assert f"{field}: " in exc.value.message


def test_several_errors_are_listed(kclient: KubeClient) -> None:
    with pytest.raises(KubeError) as exc:
        kclient.create(widget("alpha", size=0, mode="Turbo"), PLURAL)
    causes = invalid(exc)
    assert {c["field"] for c in causes} == {"spec.size", "spec.mode"}
    assert exc.value.message.startswith('Widget.sandbox.test.dev "alpha" is invalid: [spec.')


def test_immutable_field_transition_rule(kclient: KubeClient) -> None:
    kclient.create(widget("alpha", email="a@example.com"), PLURAL)  # no oldSelf on create: allowed
    assert kclient.patch(PLURAL, "alpha", {"spec": {"size": 4}})["spec"]["email"] == "a@example.com"
    with pytest.raises(KubeError) as exc:
        kclient.patch(PLURAL, "alpha", {"spec": {"email": "b@example.com"}})
    causes = invalid(exc)
    assert causes == [{"reason": "FieldValueInvalid", "field": "spec.email",
                       "message": 'Invalid value: "string": email is immutable'}]
    # Setting it later for the first time is allowed (the rule needs an old value).
    kclient.create(widget("beta"), PLURAL)
    assert kclient.patch(PLURAL, "beta", {"spec": {"email": "b@example.com"}})["spec"]["email"] == "b@example.com"


def test_status_is_validated_against_the_status_schema(kclient: KubeClient) -> None:
    kclient.create(widget("alpha"), PLURAL)
    with pytest.raises(KubeError) as exc:
        kclient.patch(PLURAL, "alpha", {"status": {"phase": "Exploded"}}, subresource="status")
    assert [c["field"] for c in invalid(exc)] == ["status.phase"]
    with pytest.raises(KubeError) as exc:
        kclient.patch(PLURAL, "alpha", {"status": {"conditions": [{"type": "Ready"}]}}, subresource="status")
    assert [c["field"] for c in invalid(exc)] == ["status.conditions[0].status"]
    # Unknown status fields are kept (x-kubernetes-preserve-unknown-fields), as kopf needs.
    patched = kclient.patch(PLURAL, "alpha", {"status": {"kopf": {"progress": {}}, "phase": "Created"}},
                            subresource="status")
    assert patched["status"] == {"kopf": {"progress": {}}, "phase": "Created"}


def test_defaulting_and_pruning_on_update(kclient: KubeClient) -> None:
    kclient.create(widget("alpha", document={"Statement": [{"Effect": "Deny"}]}), PLURAL)
    patched = kclient.patch(PLURAL, "alpha", {"spec": {"options": {"retries": None, "junk": 1}, "mode": None,
                                                       "bogus": {"x": 1}}})
    assert patched["spec"]["options"] == {"retries": 2}
    assert patched["spec"]["mode"] == "Fast"
    assert "bogus" not in patched["spec"]
    assert patched["spec"]["document"] == {"Statement": [{"Effect": "Deny"}]}  # preserved unknown fields


def test_strict_field_validation_rejects_unknown_fields(kube_sandbox: KubeSandbox) -> None:
    status, body = raw(kube_sandbox.url, "POST", f"{BASE}?fieldValidation=Strict", widget("alpha", bogus=1))
    assert status == 400 and body["reason"] == "BadRequest"
    assert 'unknown field "spec.bogus"' in body["message"]


def test_invalid_object_name(kclient: KubeClient) -> None:
    with pytest.raises(KubeError) as exc:
        kclient.create(widget("Not_Valid", name="Fine"), PLURAL)
    assert [c["field"] for c in invalid(exc)] == ["metadata.name"]


# ----------------------------------------------------------------------------------------------
# Tables, discovery, core resources.
# ----------------------------------------------------------------------------------------------

def test_table_output_from_printer_columns(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    kclient.create(widget("alpha", size=4, parentRef={"name": "root"}), PLURAL)
    kclient.patch(PLURAL, "alpha", {"status": {"phase": "Created", "conditions": [
        {"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}}, subresource="status")
    kclient.create(widget("beta"), PLURAL)
    status, table = raw(kube_sandbox.url, "GET", BASE, headers={"Accept": TABLE})
    assert status == 200
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    columns = [(c["name"], c["type"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [("Name", "string", 0), ("Size", "integer", 0), ("Ref", "string", 0),
                       ("Ready", "string", 0), ("Phase", "string", 1), ("Age", "date", 0)]
    alpha, beta = table["rows"]
    assert alpha["cells"][:5] == ["alpha", 4, "root", "True", "Created"]
    assert alpha["cells"][5].endswith("s")  # the API server renders dates as ages
    assert beta["cells"][:5] == ["beta", 3, None, None, None]
    assert alpha["object"]["kind"] == "PartialObjectMetadata"
    assert alpha["object"]["metadata"]["name"] == "alpha"

    _, single = raw(kube_sandbox.url, "GET", f"{BASE}/alpha?includeObject=Object", headers={"Accept": TABLE})
    assert len(single["rows"]) == 1 and single["rows"][0]["object"]["spec"]["size"] == 4


def test_discovery(kube_sandbox: KubeSandbox) -> None:
    _, core = raw(kube_sandbox.url, "GET", "/api/v1")
    names = {r["name"]: r for r in core["resources"]}
    assert names["events"]["namespaced"] is True and names["namespaces"]["namespaced"] is False
    _, apis = raw(kube_sandbox.url, "GET", "/apis")
    assert {g["name"] for g in apis["groups"]} == {"apiextensions.k8s.io", "apps", "coordination.k8s.io",
                                                   "networking.k8s.io", "rbac.authorization.k8s.io", GROUP}
    _, gv = raw(kube_sandbox.url, "GET", f"/apis/{GROUP}/{VERSION}")
    resources = {r["name"]: r for r in gv["resources"]}
    assert resources[PLURAL]["kind"] == "Widget" and resources[PLURAL]["namespaced"] is False
    assert resources[PLURAL]["shortNames"] == ["wg"] and resources[PLURAL]["categories"] == ["testcat"]
    assert f"{PLURAL}/status" in resources
    _, crds = raw(kube_sandbox.url, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    assert crds["kind"] == "CustomResourceDefinitionList"
    assert [c["metadata"]["name"] for c in crds["items"]] == [f"{PLURAL}.{GROUP}"]
    _, namespaces = raw(kube_sandbox.url, "GET", "/api/v1/namespaces")
    assert "default" in [n["metadata"]["name"] for n in namespaces["items"]]
    status, _ = raw(kube_sandbox.url, "GET", "/apis/nope.dev/v1/things")
    assert status == 404


def test_events_with_generate_name(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    event = {"metadata": {"namespace": "default", "generateName": "kopf-event-"}, "type": "Normal",
             "reason": "Logging", "message": "hello", "involvedObject": {"kind": "Widget", "name": "alpha"}}
    status, created = raw(kube_sandbox.url, "POST", "/api/v1/namespaces/default/events", event)
    assert status == 201 and created["metadata"]["name"].startswith("kopf-event-")
    assert [e["message"] for e in kclient.events()] == ["hello"]
    assert [e["message"] for e in kube_sandbox.events()] == ["hello"]


# ----------------------------------------------------------------------------------------------
# Helpers: CEL (cel-python, controller/api/cel.py) and JSONPath.
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "value", "old", "expected"), [
    ("self == oldSelf", "a", "a", True),
    ("self == oldSelf", "a", "b", False),
    ("has(self.a) != has(self.b)", {"a": 1}, None, True),
    ("has(self.a) != has(self.b)", {"a": 1, "b": 2}, None, False),
    ("!has(self.x) || self.x.size() <= 2", {"x": [1, 2, 3]}, None, False),
    ("size(self.name) < 5 && self.name.startsWith('a')", {"name": "abc"}, None, True),
    ("self.ids.all(i, i.matches('^[0-9]+$'))", {"ids": ["1", "22"]}, None, True),
    ("self.ids.exists(i, i == 'x')", {"ids": ["1", "22"]}, None, False),
    ("self.mode in ['A', 'B'] ? self.n > 1 : true", {"mode": "A", "n": 2}, None, True),
])
def test_cel_subset(rule: str, value: Any, old: Any, expected: bool) -> None:
    assert _kube_cel.compile_rule(rule).evaluate(value, old) is expected


def test_cel_unsupported_and_errors() -> None:
    with pytest.raises(_kube_cel.UnsupportedRule):
        _kube_cel.compile_rule("self.quantity().isGreaterThan(1)")
    with pytest.raises(_kube_cel.RuleError):
        _kube_cel.compile_rule("self.missing == 1").evaluate({})


def test_jsonpath_forms() -> None:
    obj = {"spec": {"a": {"b": 1}}, "status": {"conditions": [{"type": "Synced", "status": "False"},
                                                              {"type": "Ready", "status": "True"}]}}
    assert _kube_table.jsonpath(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert _kube_table.jsonpath(obj, ".spec.a.b") == [1]
    assert _kube_table.jsonpath(obj, ".status.conditions[0].type") == ["Synced"]
    assert _kube_table.jsonpath(obj, ".status.conditions[*].type") == ["Synced", "Ready"]
    assert _kube_table.jsonpath(obj, ".spec.missing") == []
    assert _kube_table.human_duration(5) == "5s" and _kube_table.human_duration(3 * 3600 + 120) == "3h2m"


def test_direct_accessors_and_runtime_crds(kube_sandbox: KubeSandbox, widget_crd: dict[str, Any]) -> None:
    obj = widget("alpha")
    obj["status"] = {"phase": "Created"}
    created = kube_sandbox.create(obj)
    assert created["status"] == {"phase": "Created"} and created["spec"]["size"] == 3
    assert kube_sandbox.get(PLURAL, "alpha", GROUP) == created
    assert [o["metadata"]["name"] for o in kube_sandbox.objects(PLURAL, GROUP)] == ["alpha"]
    assert kube_sandbox.get(PLURAL, "missing", GROUP) is None

    # A CRD created through the API is served at once; deleting it removes the resource.
    crds = KubeClient(kube_sandbox.url, group="apiextensions.k8s.io", version="v1")
    gadgets = json.loads(json.dumps(widget_crd).replace("widget", "gadget").replace("Widget", "Gadget"))
    gadgets["spec"]["names"]["shortNames"] = ["gd"]
    crds.create(gadgets, "customresourcedefinitions")
    client = KubeClient(kube_sandbox.url, group=GROUP, version=VERSION)
    client.create({**widget("one"), "kind": "Gadget"}, "gadgets")
    assert [o["kind"] for o in client.list("gadgets")] == ["Gadget"]
    crds.delete("customresourcedefinitions", f"gadgets.{GROUP}")
    with pytest.raises(KubeError) as exc:
        client.list("gadgets")
    assert exc.value.status == 404
