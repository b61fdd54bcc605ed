"""Server-side apply and managedFields in the sandbox API server (controller/sandbox/ssa.py), over HTTP and kubectl.

The install path the README gives (`kubectl apply --server-side` of the CRDs, kopf's peering, the Kustomize
base and the examples) is rehearsed with the real kubectl; conflicts between managers, force, the removal of
fields a manager stops applying, and the operator's status ownership are checked over HTTP.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from tests.sandbox.conftest import GROUP, PLURAL, VERSION, widget
from tests.sandbox.test_kube_api import BASE, raw
from tests.sandbox.test_kube_kubectl import KUBECTL, make_kubectl

ROOT = Path(__file__).resolve().parents[2]
APPLY = "application/apply-patch+yaml"
API_VERSION = f"{GROUP}/{VERSION}"


def apply(sandbox: KubeSandbox, obj: dict[str, Any], manager: str, *, force: bool = False,
          subresource: str = "", as_yaml: bool = False) -> tuple[int, Any]:
    query = urllib.parse.urlencode({"fieldManager": manager, **({"force": "true"} if force else {})})
    path = f"{BASE}/{obj['metadata']['name']}{'/' + subresource if subresource else ''}?{query}"
    body = yaml.safe_dump(obj).encode() if as_yaml else json.dumps(obj).encode()
    return raw(sandbox.url, "PATCH", path, body, content_type=APPLY)


def entries(obj: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """managedFields by (manager, operation, subresource) -> fieldsV1."""
    return {(e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"]
            for e in obj["metadata"].get("managedFields", [])}


def test_apply_creates_then_updates_and_records_its_fields(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    config = widget("alpha", size=4, tags={"team": "a", "env": "dev"})
    config["metadata"]["labels"] = {"app": "x"}
    status, created = apply(kube_sandbox, config, "gitops", as_yaml=True)
    assert status == 201, created
    assert created["spec"] == {"name": "Alpha", "size": 4, "tags": {"team": "a", "env": "dev"}, "mode": "Fast",
                               "options": {"retries": 2}}  # defaults applied, owned by nobody
    assert entries(created) == {("gitops", "Apply", ""): {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:name": {}, "f:size": {}, "f:tags": {"f:env": {}, "f:team": {}}}}}
    entry = created["metadata"]["managedFields"][0]
    assert entry["apiVersion"] == API_VERSION and entry["fieldsType"] == "FieldsV1" and entry["time"].endswith("Z")

    # The same configuration again changes nothing, not even the resourceVersion.
    status, again = apply(kube_sandbox, config, "gitops")
    assert status == 200 and again == created

    # Fields the manager no longer applies are removed; defaults and other managers' fields stay.
    kclient.patch(PLURAL, "alpha", {"spec": {"ids": ["123456789012"]}})  # an Update by another manager
    smaller = widget("alpha", size=4, tags={"team": "a"})
    status, updated = apply(kube_sandbox, smaller, "gitops")
    assert status == 200, updated
    assert updated["spec"]["tags"] == {"team": "a"} and updated["spec"]["ids"] == ["123456789012"]
    assert not updated["metadata"].get("labels")
    assert updated["spec"]["mode"] == "Fast" and updated["metadata"]["generation"] == 3
    assert entries(updated)[("gitops", "Apply", "")] == {"f:spec": {"f:name": {}, "f:size": {},
                                                                    "f:tags": {"f:team": {}}}}


def test_conflicts_between_managers_and_force(kube_sandbox: KubeSandbox, kclient: KubeClient) -> None:
    assert apply(kube_sandbox, widget("alpha", size=4, mode="Slow"), "gitops")[0] == 201
    before = kclient.get(PLURAL, "alpha")

    status, answer = apply(kube_sandbox, widget("alpha", size=5), "other")
    assert status == 409, answer
    assert (answer["reason"], answer["code"]) == ("Conflict", 409)
    assert answer["message"] == 'Apply failed with 1 conflict: conflict with "gitops": .spec.size'
    assert answer["details"]["causes"] == [{"reason": "FieldManagerConflict", "message": 'conflict with "gitops"',
                                            "field": ".spec.size"}]
    # The same value is no conflict: both own the field then.
    status, shared = apply(kube_sandbox, widget("alpha", size=4), "other")
    assert status == 200 and kclient.get(PLURAL, "alpha")["spec"] == before["spec"]
    assert entries(shared)[("other", "Apply", "")] == {"f:spec": {"f:name": {}, "f:size": {}}}

    status, answer = apply(kube_sandbox, widget("alpha", name="Renamed", size=6, mode="Fast"), "other")
    assert status == 409
    assert answer["message"] == ('Apply failed with 3 conflicts: conflicts with "gitops":\n- .spec.mode\n'
                                 '- .spec.name\n- .spec.size')
    assert kclient.get(PLURAL, "alpha")["spec"] == before["spec"]

    # force takes the fields over; the former owner keeps what it still shares.
    status, forced = apply(kube_sandbox, widget("alpha", size=6), "other", force=True)
    assert status == 200 and forced["spec"]["size"] == 6
    assert entries(forced)[("gitops", "Apply", "")] == {"f:spec": {"f:mode": {}, "f:name": {}}}
    assert entries(forced)[("other", "Apply", "")] == {"f:spec": {"f:name": {}, "f:size": {}}}

    # A field last written by an update (here a merge patch with fieldManager=ops) conflicts too.
    status, _ = raw(kube_sandbox.url, "PATCH", f"{BASE}/alpha?fieldManager=ops", {"spec": {"mode": "Fast"}},
                    content_type="application/merge-patch+json")
    assert status == 200
    status, answer = apply(kube_sandbox, widget("alpha", mode="Slow"), "gitops")
    assert status == 409
    assert answer["message"] == f'Apply failed with 1 conflict: conflict with "ops" using {API_VERSION}: .spec.mode'


def test_a_later_apply_of_the_spec_leaves_the_operators_status_alone(kube_sandbox: KubeSandbox) -> None:
    assert apply(kube_sandbox, widget("alpha", size=4), "kubectl")[0] == 201
    # The operator (kopf: User-Agent kopf/<version>, no fieldManager) writes status and a finalizer.
    headers = {"User-Agent": "kopf/1.38.0"}
    status_patch = {"status": {"phase": "Created", "conditions": [{"type": "Ready", "status": "True"}]}}
    status, _ = raw(kube_sandbox.url, "PATCH", f"{BASE}/alpha/status", status_patch, headers=headers,
                    content_type="application/merge-patch+json")
    assert status == 200
    status, operated = raw(kube_sandbox.url, "PATCH", f"{BASE}/alpha", {"metadata": {"finalizers": ["x.dev/f"]}},
                           headers=headers, content_type="application/merge-patch+json")
    assert status == 200
    assert entries(operated)[("kopf", "Update", "status")] == {"f:status": {".": {}, "f:conditions": {},
                                                                            "f:phase": {}}}
    assert entries(operated)[("kopf", "Update", "")] == {"f:metadata": {"f:finalizers": {".": {},
                                                                                        'v:"x.dev/f"': {}}}}
    operator_entries = [e for e in operated["metadata"]["managedFields"] if e["manager"] == "kopf"]

    # Git changes the spec; the applied file even carries a stale status, which the main resource ignores.
    changed = {**widget("alpha", size=7), "status": {"phase": "Updated"}}
    status, applied = apply(kube_sandbox, changed, "kubectl")
    assert status == 200, applied
    assert applied["spec"]["size"] == 7
    assert applied["status"] == status_patch["status"]
    assert applied["metadata"]["finalizers"] == ["x.dev/f"]
    assert [e for e in applied["metadata"]["managedFields"] if e["manager"] == "kopf"] == operator_entries

    # An apply to /status by another manager that changes the operator's field conflicts with it.
    status, answer = apply(kube_sandbox, {**widget("alpha"), "status": {"phase": "Updated"}}, "intruder",
                           subresource="status")
    assert status == 409
    assert answer["message"] == ('Apply failed with 1 conflict: conflict with "kopf" with subresource "status" '
                                 f"using {API_VERSION}: .status.phase")


def test_apply_requests_the_server_refuses(kube_sandbox: KubeSandbox) -> None:
    cases: list[tuple[str, Any, str, int, str]] = [
        (f"{BASE}/alpha", widget("alpha"), "", 422,
         'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'),
        (f"{BASE}/alpha?fieldManager=m", {**widget("alpha"), "apiVersion": f"{GROUP}/v2"}, "", 400,
         f"Incorrect version specified in apply patch. Specified patch version: {GROUP}/v2, expected: {API_VERSION}"),
        (f"{BASE}/alpha?fieldManager=m", {**widget("alpha"), "metadata": {"name": "alpha", "managedFields": []}}, "",
         400, "metadata.managedFields must be nil"),
        (f"{BASE}/beta?fieldManager=m", widget("alpha"), "", 400,
         "the name of the object (alpha) does not match the name on the URL (beta)"),
        (f"{BASE}/alpha/status?fieldManager=m", widget("alpha"), "", 404, f'{PLURAL}.{GROUP} "alpha" not found'),
        (f"{BASE}/alpha?fieldManager=m&fieldValidation=Strict", widget("alpha", bogus=1), "", 400,
         f'Widget in version "{VERSION}" cannot be handled as a Widget: strict decoding error: '
         'unknown field "spec.bogus"'),
    ]
    for path, body, _note, code, message in cases:
        status, answer = raw(kube_sandbox.url, "PATCH", path, json.dumps(body).encode(), content_type=APPLY)
        assert (status, answer["message"]) == (code, message), path
    status, answer = raw(kube_sandbox.url, "PATCH", f"{BASE}/alpha?fieldManager=m", b"{ not: [yaml",
                         content_type=APPLY)
    assert status == 400 and answer["message"].startswith("error decoding YAML: ")
    assert raw(kube_sandbox.url, "GET", f"{BASE}/alpha")[0] == 404  # nothing was created

    assert apply(kube_sandbox, widget("alpha"), "m")[0] == 201
    status, answer = raw(kube_sandbox.url, "PATCH", f"{BASE}/alpha?force=true", {"spec": {"size": 2}},
                         content_type="application/merge-patch+json")
    assert (status, answer["message"]) == (422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not '
                                                "be specified for non-apply patch")


def test_updates_record_their_manager(kube_sandbox: KubeSandbox) -> None:
    status, created = raw(kube_sandbox.url, "POST", BASE, widget("alpha"), headers={"User-Agent": "curl/8.5.0"})
    assert status == 201
    assert entries(created) == {("curl", "Update", ""): {"f:spec": {".": {}, "f:mode": {}, "f:name": {}, "f:options": {
        ".": {}, "f:retries": {}}, "f:size": {}}}}  # a creator owns the defaults it was given
    status, patched = raw(kube_sandbox.url, "PATCH", f"{BASE}/alpha?fieldManager=editor", {"spec": {"size": 9}},
                          content_type="application/merge-patch+json")
    assert status == 200
    assert entries(patched)[("editor", "Update", "")] == {"f:spec": {"f:size": {}}}
    assert "f:size" not in entries(patched)[("curl", "Update", "")]["f:spec"]


# ----------------------------------------------------------------------------------------------
# The README's install path with the real kubectl.
# ----------------------------------------------------------------------------------------------

# What the Prometheus Operator (kube-prometheus-stack) installs before the optional monitoring component
# (deploy/monitoring/) can be applied; the base (deploy/) needs none of it.
MONITORING_CRDS = [{
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{plural}.monitoring.coreos.com"},
    "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
             "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object",
                                                           "x-kubernetes-preserve-unknown-fields": True}}}}}]},
} for kind, plural in (("ServiceMonitor", "servicemonitors"), ("PrometheusRule", "prometheusrules"))]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_server_side_apply_of_the_install_path(tmp_path: Path) -> None:
    with KubeSandbox([]) as sandbox:  # no Prometheus Operator: the base must apply without its CRDs
        kubectl = make_kubectl(sandbox, tmp_path)
        out = kubectl("apply", "--server-side", "-f", str(ROOT / "deploy/crds/")).stdout
        assert out.count("serverside-applied") == len(list((ROOT / "deploy/crds").glob("*.yaml")))
        # As the README says: the peering object may need a second run, once its CRD is served.
        kubectl("apply", "--server-side", "-f", str(ROOT / "deploy/kopf-peering.yaml"), check=False)
        kubectl("wait", "--for", "condition=established", "--timeout=10s", "crd", "--all")
        out = kubectl("apply", "--server-side", "-k", str(ROOT / "deploy/")).stdout
        assert "deployment.apps/awsorg-operator serverside-applied" in out
        assert "clusterkopfpeering.kopf.dev/awsorg-operator serverside-applied" in out
        assert "monitoring.coreos.com" not in out
        # The optional monitoring component, once the Prometheus Operator's CRDs are there.
        crds = tmp_path / "monitoring-crds.yaml"
        crds.write_text(yaml.safe_dump_all(MONITORING_CRDS))
        kubectl("apply", "--server-side", "-f", str(crds))
        kubectl("wait", "--for", "condition=established", "--timeout=10s", "crd", "--all")
        out = kubectl("apply", "--server-side", "-k", str(ROOT / "docs/examples/overlay-monitoring")).stdout
        assert "prometheusrule.monitoring.coreos.com/awsorg-operator serverside-applied" in out
        assert "servicemonitor.monitoring.coreos.com/awsorg-operator serverside-applied" in out
        assert "deployment.apps/awsorg-operator serverside-applied" in out  # unchanged, applied again
        deployment = yaml.safe_load(kubectl("-n", "awsorg-system", "get", "deploy", "awsorg-operator", "-o",
                                            "yaml", "--show-managed-fields").stdout)
        assert [(e["manager"], e["operation"]) for e in deployment["metadata"]["managedFields"]] == [
            ("kubectl", "Apply")]

        out = kubectl("apply", "--server-side", "-f", str(ROOT / "examples/")).stdout
        assert "orgunit.awsorg.gitops.dev/production serverside-applied" in out
        listed = kubectl("get", "awsorg", "-o", "name").stdout.split()
        assert "orgunit.awsorg.gitops.dev/production" in listed and len(listed) == len(
            [d for f in (ROOT / "examples").glob("*.yaml") for d in yaml.safe_load_all(f.read_text()) if d])

        # A second manager changing a field kubectl applied: refused, then taken over with --force-conflicts.
        ou = yaml.safe_load(kubectl("get", "ou", "production", "-o", "yaml").stdout)
        changed = {"apiVersion": ou["apiVersion"], "kind": "OrgUnit", "metadata": {"name": "production"},
                   "spec": {"name": "Prod"}}
        path = tmp_path / "changed.yaml"
        path.write_text(yaml.safe_dump(changed))
        refused = kubectl("apply", "--server-side", "--field-manager", "console", "-f", str(path), check=False)
        assert refused.returncode != 0
        assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.name' in refused.stderr
        assert yaml.safe_load(kubectl("get", "ou", "production", "-o", "yaml").stdout)["spec"]["name"] == \
            ou["spec"]["name"]
        kubectl("apply", "--server-side", "--field-manager", "console", "--force-conflicts", "-f", str(path))
        assert yaml.safe_load(kubectl("get", "ou", "production", "-o", "yaml").stdout)["spec"]["name"] == "Prod"
