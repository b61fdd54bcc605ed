"""An uninstall destroys nothing: deleting our CRDs, or the whole Kustomize base, with the operator running writes
nothing to AWS.

A real API server deletes a CRD's objects by normal deletion (apiextensions-apiserver's CRD finalizer, played by
controller/sandbox/kube_crd_finalizer.py), so each object's delete handler runs; the operator, seeing that the
object's CRD is being deleted, releases its finalizer without an AWS call (controller/handlers/operator.py
``on_delete``). The AWS writes are counted at the sandbox (every call but reads), and AWS's state is compared.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api.crds import all_crds
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from tests.e2e.harness import DEPLOY, Cluster, Operator, fail_if_refused, operator_kubeconfig, wait_for
from tests.e2e.test_rbac_events import PEERING_ARGS, landing_zone
from tests.sandbox.test_kube_apply import MONITORING_CRDS
from tests.sandbox.test_kube_kubectl import KUBECTL, make_kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")]

PLURALS = ("orgunits", "awsaccounts", "servicecontrolpolicies", "managementpolicies", "organizations")
OUR_CRDS = [f"{plural}.awsorg.gitops.dev" for plural in PLURALS]
READS = ("Describe", "List", "Get", "AssumeRole")


def aws_writes(aws: AwsSandbox) -> list[str]:
    return [call for call in aws.calls if not call.startswith(READS)]


def aws_state(aws: AwsSandbox) -> dict[str, Any]:
    """What a landing zone is in AWS: OUs, accounts and where they are, SCPs and their targets, the settings."""
    org = aws.client()
    root = org.list_roots()["Roots"][0]["Id"]
    ous, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for ou in org.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]:
            ous[ou["Id"]] = (ou["Name"], parent)
            todo.append(ou["Id"])
    accounts = {a["Id"]: (a["Name"], a["Status"], org.list_parents(ChildId=a["Id"])["Parents"][0]["Id"])
                for a in org.list_accounts()["Accounts"]}
    policies = {p["Id"]: (p["Name"], sorted(t["TargetId"] for t in org.list_targets_for_policy(
        PolicyId=p["Id"])["Targets"])) for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    services = sorted(s["ServicePrincipal"] for s in org.list_aws_service_access_for_organization()[
        "EnabledServicePrincipals"])
    return {"ous": ous, "accounts": accounts, "policies": policies, "services": services,
            "types": org.list_roots()["Roots"][0]["PolicyTypes"]}


@pytest.fixture
def kube() -> Iterator[KubeSandbox]:
    """As `kubectl apply -k deploy/` leaves a cluster: our CRDs, kopf's peering CRD and object, and the
    Prometheus Operator's CRDs the base's ServiceMonitor and PrometheusRule need."""
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kopf-peering.yaml").read_text()) if d]
    sandbox = KubeSandbox([*all_crds(), *(d for d in docs if d["kind"] == "CustomResourceDefinition"),
                           *MONITORING_CRDS]).start()
    for doc in docs:
        if doc["kind"] == "ClusterKopfPeering":
            KubeClient(sandbox.url, group="kopf.dev", version="v1").create(doc, "clusterkopfpeerings")
    yield sandbox
    sandbox.stop()


@pytest.fixture
def operator(aws: AwsSandbox, kube: KubeSandbox, tmp_path: Path) -> Iterator[Operator]:
    """The operator as deployed (its service account, deploy/rbac.yaml, --peering). Not the harness's
    start_operator: deleting the Kustomize base deletes its RBAC, so refusals are expected here."""
    op = Operator(aws, operator_kubeconfig(kube, tmp_path / "operator-kubeconfig"), tmp_path / "operator.log",
                  PEERING_ARGS).start()
    yield op
    op.stop()


def released_events(kube: KubeSandbox) -> list[tuple[str, str]]:
    return sorted((e["involvedObject"]["kind"], e["involvedObject"]["name"]) for e in kube.events("default")
                  if e.get("reason") == "Released")


def test_deleting_the_crds_with_the_operator_running_writes_nothing_to_aws(
        aws: AwsSandbox, kube: KubeSandbox, operator: Operator, tmp_path: Path) -> None:
    cluster = Cluster(KubeClient(kube.url))
    objects = landing_zone(cluster)  # an OU, an account in it, an SCP (deletionPolicy Delete) on it, the settings
    before = aws_state(aws)
    aws.reset_calls()

    kubectl = make_kubectl(kube, tmp_path)
    out = kubectl("delete", "-f", str(DEPLOY / "crds"), "--wait=false").stdout
    assert out.count("deleted") == len(OUR_CRDS), out
    gone = kubectl("wait", "--for=delete", *(f"crd/{name}" for name in OUR_CRDS), "--timeout=20s", check=False)

    assert aws_writes(aws) == [], operator.log()[-4000:]
    assert gone.returncode == 0, gone.stderr
    assert all(kube.get("customresourcedefinitions", name, "apiextensions.k8s.io") is None for name in OUR_CRDS)
    assert aws_state(aws) == before
    # Each object went through its delete handler, which released it (rather than the objects vanishing).
    assert wait_for(lambda: len(released_events(kube)) == len(objects) and released_events(kube)) == sorted(
        (obj["kind"], obj["metadata"]["name"]) for obj in objects.values())
    fail_if_refused(kube)  # deploy/rbac.yaml grants the read of our CRDs (list, by name) the handler makes


def test_kubectl_delete_k_deploy_with_the_operator_running_writes_nothing_to_aws(
        aws: AwsSandbox, kube: KubeSandbox, operator: Operator, tmp_path: Path) -> None:
    kubectl = make_kubectl(kube, tmp_path)
    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(DEPLOY))  # the Application's set, installed
    cluster = Cluster(KubeClient(kube.url))
    landing_zone(cluster)
    before = aws_state(aws)
    aws.reset_calls()

    # The Namespace, the CRDs, the RBAC, the Deployment... (kopf's peering object goes with its CRD: not found)
    kubectl("delete", "-k", str(DEPLOY), "--wait=false", "--ignore-not-found")
    time.sleep(5)  # what the operator does while its grants go (it can neither release nor write)
    assert aws_writes(aws) == [], operator.log()[-4000:]

    # What docs/operating.md says for objects left waiting on the operator's finalizer once its RBAC is gone.
    for plural in PLURALS:
        for name in kubectl("get", plural, "-o", "name", check=False).stdout.split():
            kubectl("patch", name, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    kubectl("wait", "--for=delete", *(f"crd/{name}" for name in OUR_CRDS), "--timeout=30s", check=False)
    assert all(kube.get("customresourcedefinitions", name, "apiextensions.k8s.io") is None for name in OUR_CRDS)
    assert aws_writes(aws) == [], operator.log()[-4000:]
    assert aws_state(aws) == before
