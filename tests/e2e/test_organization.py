"""Organization end to end: the real operator (kopf) against the sandbox Kubernetes API and strict AWS sandbox.

Asserts on what AWS then holds (through boto3) and on what the API then holds (status, conditions, events)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import API, Cluster, Operator, account, condition, free_port, metric, scrape, wait_for

pytestmark = pytest.mark.e2e
CONFIG = "config.amazonaws.com"
TRAIL = "cloudtrail.amazonaws.com"


def organization(name: str = "organization", /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Organization", "metadata": {"name": name}, "spec": spec}


def baseline_spec(**extra: Any) -> dict[str, Any]:
    return dict(trustedServices=[TRAIL, CONFIG], policyTypes=["SERVICE_CONTROL_POLICY"],
                delegatedAdministrators=[{"accountRef": {"name": "shared-services"}, "servicePrincipal": CONFIG}],
                **extra)


def trusted(aws: AwsSandbox) -> set[str]:
    return {s["ServicePrincipal"] for s in
            aws.client().list_aws_service_access_for_organization()["EnabledServicePrincipals"]}


def admins(aws: AwsSandbox, principal: str = CONFIG) -> set[str]:
    return {a["Id"] for a in
            aws.client().list_delegated_administrators(ServicePrincipal=principal)["DelegatedAdministrators"]}


def shared_services(cluster: Cluster) -> str:
    cluster.client.apply(account("shared-services", accountName="Shared Services",
                                 email="aws-shared@example.com"))
    return str(cluster.wait_ready("awsaccounts", "shared-services", timeout=30)["status"]["id"])


def test_the_organization_gets_its_settings_in_aws(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    shared = shared_services(cluster)
    cluster.client.apply(organization(**baseline_spec()))
    obj = cluster.wait_ready("organizations", "organization", timeout=30)

    org = aws.client()
    assert org.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    assert trusted(aws) == {TRAIL, CONFIG}
    assert admins(aws) == {shared}
    roots = org.list_roots()["Roots"][0]["PolicyTypes"]
    assert {t["Type"] for t in roots if t["Status"] == "ENABLED"} == {"SERVICE_CONTROL_POLICY"}
    status = obj["status"]
    assert status["id"] == aws.ids["organization_id"] and status["featureSet"] == "ALL"
    assert status["trustedServices"] == [TRAIL, CONFIG]
    assert status["delegatedAdministrators"] == [{"accountId": shared, "servicePrincipal": CONFIG}]
    assert condition(obj, "Baseline")["reason"] == "NothingDeclared"  # type: ignore[index]
    reasons = {e["reason"] for e in cluster.client.events() if e["involvedObject"]["name"] == "organization"}
    assert {"TrustedAccessEnabled", "DelegatedAdministratorRegistered", "PolicyTypeEnabled"} <= reasons


def test_another_name_is_refused(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    with pytest.raises(Exception) as info:
        cluster.client.apply(organization("org-two"))
    assert getattr(info.value, "status", None) == 422
    assert "singleton" in str(getattr(info.value, "body", info.value))


def test_trusted_access_and_delegated_admin_removed_out_of_band_are_put_back(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    port = free_port()
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_METRICS_PORT=str(port))
    shared = shared_services(cluster)
    cluster.client.apply(organization(**baseline_spec()))
    cluster.wait_ready("organizations", "organization", timeout=30)
    org = aws.client()
    org.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")  # outside Git: reported, never disabled
    org.deregister_delegated_administrator(AccountId=shared, ServicePrincipal=CONFIG)
    org.disable_aws_service_access(ServicePrincipal=TRAIL)
    wait_for(lambda: TRAIL in trusted(aws) and admins(aws) == {shared}, timeout=20, what="the settings put back")
    obj = wait_for(lambda: o if (o := cluster.get("organizations", "organization")) and
                   "sso.amazonaws.com" in o["status"].get("trustedServicesOutsideGit", []) else None, timeout=10)
    assert "sso.amazonaws.com" in trusted(aws)
    assert condition(obj, "Ready")["status"] == "True"  # type: ignore[index]
    assert metric(scrape(port), "awsorg_drift_corrected_total", kind="Organization") >= 1


def test_report_mode_reports(aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_DRIFT_POLICY="report")
    shared = shared_services(cluster)
    cluster.client.apply(organization(**baseline_spec()))
    cluster.wait_ready("organizations", "organization", timeout=30)
    aws.client().deregister_delegated_administrator(AccountId=shared, ServicePrincipal=CONFIG)
    obj = cluster.wait_reason("organizations", "organization", "Drifted", "DriftDetected", timeout=15)
    assert obj["status"]["drift"] == [{"field": f"delegatedAdministrators[{CONFIG}]", "desired": shared}]
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert admins(aws) == set()  # reported, not put back
