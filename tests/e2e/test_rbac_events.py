"""The operator under exactly the RBAC of the Kustomize base, and its events where `kubectl describe` finds them.

Every e2e test runs the operator with a service-account token bound to deploy/rbac.yaml (tests/e2e/harness.py
``operator_kubeconfig``) and fails on any request the sandbox refused. This module adds the other direction,
least privilege: run as deployed (``--peering awsorg-operator``), across all four kinds, the operator uses every
grant of deploy/rbac.yaml, or the grant it never uses is named. And the events it posts for its cluster-scoped
objects are found the way `kubectl describe` finds them (kubectl's searchEvents: ``GET /api/v1/events`` with
``fieldSelector=involvedObject.name=N,involvedObject.namespace=,involvedObject.kind=K,involvedObject.uid=U``),
and with the real kubectl where it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api.crds import all_crds
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from controller.sandbox.rbac import Attributes, rule_allows
from tests.e2e.harness import (
    API,
    DEPLOY,
    Cluster,
    Operator,
    account,
    deployed,
    operator_service_account,
    operator_user,
    orgunit,
    wait_for,
)

pytestmark = pytest.mark.e2e
KUBECTL = shutil.which("kubectl")
PEERING_ARGS = ["--peering", "awsorg-operator"]


@pytest.fixture
def kube() -> Iterator[KubeSandbox]:
    """As `kubectl apply -k deploy/` leaves a cluster: our CRDs, kopf's peering CRD and the peering object."""
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kopf-peering.yaml").read_text()) if d]
    sandbox = KubeSandbox([*all_crds(), *(d for d in docs if d["kind"] == "CustomResourceDefinition")]).start()
    for doc in docs:
        if doc["kind"] == "ClusterKopfPeering":
            KubeClient(sandbox.url, group="kopf.dev", version="v1").create(doc, "clusterkopfpeerings")
    yield sandbox
    sandbox.stop()


def landing_zone(cluster: Cluster) -> dict[str, dict[str, Any]]:
    """One object of each kind, each reconciled (status written, events posted); the names -> the objects."""
    cluster.client.apply(orgunit("workloads", name="Workloads"))
    cluster.client.apply(account("shared", accountName="Shared", email="aws-shared@example.com",
                                 orgUnitRef={"name": "workloads"}))
    cluster.client.apply({"apiVersion": API, "kind": "ServiceControlPolicy", "metadata": {"name": "deny-leave"},
                          "spec": {"document": {"Version": "2012-10-17", "Statement": [
                              {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]},
                              "targets": {"orgUnitRefs": [{"name": "workloads"}]}}})
    cluster.client.apply({"apiVersion": API, "kind": "ManagementPolicy", "metadata": {"name": "ai-opt-out"},
                          "spec": {"type": "AISERVICES_OPT_OUT_POLICY", "targets": {"root": True}, "document": {
                              "services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}}}})
    cluster.client.apply({"apiVersion": API, "kind": "Organization", "metadata": {"name": "organization"},
                          "spec": {"trustedServices": ["config.amazonaws.com"]}})
    return {plural: cluster.wait_ready(plural, name, timeout=30) for plural, name in (
        ("orgunits", "workloads"), ("awsaccounts", "shared"), ("servicecontrolpolicies", "deny-leave"),
        ("managementpolicies", "ai-opt-out"), ("organizations", "organization"))}


def described_events(cluster: Cluster, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The events `kubectl describe` lists for a cluster-scoped object (kubectl's searchEvents query)."""
    meta = obj["metadata"]
    selector = (f"involvedObject.name={meta['name']},involvedObject.namespace=,"
                f"involvedObject.kind={obj['kind']},involvedObject.uid={meta['uid']}")
    found = cluster.client.request("GET", "/api/v1/events", params={"fieldSelector": selector})
    return list(found["items"])


def granted(objects: tuple[dict[str, Any], ...], namespace: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    """Every single grant (one group, resource, verb, resource name) the RBAC objects give the service account,
    with the namespace it holds in ("" for the whole cluster)."""
    roles = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
             for o in objects if o["kind"] in ("ClusterRole", "Role")}
    atoms: list[tuple[str, dict[str, Any]]] = []
    for binding in (o for o in objects if o["kind"] in ("ClusterRoleBinding", "RoleBinding")):
        if {"kind": "ServiceAccount", "namespace": namespace, "name": name} not in binding["subjects"]:
            continue
        scope = binding["metadata"].get("namespace", "")
        ref = binding["roleRef"]
        for rule in roles[(ref["kind"], scope if ref["kind"] == "Role" else "", ref["name"])]["rules"]:
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    for verb in rule["verbs"]:
                        for resource_name in rule.get("resourceNames") or [None]:
                            atom = {"apiGroups": [group], "resources": [resource], "verbs": [verb],
                                    "resourceNames": [resource_name] if resource_name else []}
                            atoms.append((scope, atom))
    return atoms


def used_attributes(kube: KubeSandbox, user: str) -> list[Attributes]:
    used = kube.call(lambda emu: sorted(emu.rbac.used.get(user, set())))
    return [Attributes(verb, resource, False) if resource.startswith("/") else
            Attributes(verb, "", True, group, "", resource, subresource, namespace, name)
            for verb, group, resource, subresource, namespace, name in used]


def test_the_operator_uses_every_grant_of_deploy_rbac_and_its_events_are_where_kubectl_looks(
        aws: AwsSandbox, kube: KubeSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    start_operator(*PEERING_ARGS, AWSORG_RESYNC_SECONDS="1")  # as deployed: in the kopf peering
    objects = landing_zone(cluster)
    for plural, obj in objects.items():  # events listed as `kubectl describe` lists them
        wait_for(lambda obj=obj: described_events(cluster, obj), what=f"the events of {plural}")  # type: ignore[misc]
    cluster.client.delete("servicecontrolpolicies", "deny-leave")  # the finalizer taken off
    cluster.wait_gone("servicecontrolpolicies", "deny-leave")

    user = operator_user()
    used = used_attributes(kube, user)
    print("the operator used:\n" + "\n".join(
        f"  {a.verb} {a.path}" if not a.is_resource else
        f"  {a.verb} {a.combined_resource}.{a.group or 'core'}{f' {a.name}' if a.name else ''}"
        f"{f' in {a.namespace}' if a.namespace else ''}" for a in used))
    unused = [(scope, atom) for scope, atom in granted(deployed(), *operator_service_account())
              if not any(rule_allows(a, atom) and (not scope or a.namespace == scope) for a in used)]
    assert not unused, f"deploy/rbac.yaml grants what the operator never used: {unused}"


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_describe_lists_the_operators_events(
        aws: AwsSandbox, kube: KubeSandbox, cluster: Cluster, operator: Operator, tmp_path: Path) -> None:
    assert KUBECTL is not None
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    objects = landing_zone(cluster)
    reasons = {plural: wait_for(lambda obj=obj: {e["reason"] for e in described_events(cluster, obj)},  # type: ignore[misc]
                                what=f"the events of {plural}") for plural, obj in objects.items()}
    out = subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "cache"),
                          "describe", *(f"{plural}/{obj['metadata']['name']}" for plural, obj in objects.items())],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    print(out)
    sections = ["Name:" + part for part in out.split("\nName:")[1:]] if not out.startswith("Name:") else \
        ["Name:" + part for part in ("\n" + out).split("\nName:")[1:]]
    assert len(sections) == len(objects), out
    for (plural, obj), section in zip(objects.items(), sections, strict=True):
        assert section.split()[1] == obj["metadata"]["name"], section
        events = section[section.index("\nEvents:"):]
        assert "<none>" not in events.splitlines()[1], f"kubectl describe {plural}: {events}"
        assert all(reason in events for reason in reasons[plural]), section
        assert "awsorg-operator" in events, section  # the From column
