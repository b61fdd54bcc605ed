"""Centralized root access end to end (Organization spec.rootAccess): the real operator against the sandbox; what
IAM holds is asserted through boto3, what each member account's root user holds through the AwsAccount's status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import API, Cluster, Operator, account, wait_for

pytestmark = pytest.mark.e2e
BOTH = {"RootCredentialsManagement", "RootSessions"}


def root_access(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Organization", "metadata": {"name": "organization"},
            "spec": {"trustedServices": ["iam.amazonaws.com"], "rootAccess": spec}}


def test_root_access_enabled_kept_and_root_credentials_shown(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1")
    cluster.client.apply(account("dev", accountName="Dev", email="aws-dev@example.com"))
    cluster.client.apply(account("prod", accountName="Prod", email="aws-prod@example.com"))
    cluster.wait_ready("awsaccounts", "dev", timeout=30)
    prod = str(cluster.wait_ready("awsaccounts", "prod", timeout=30)["status"]["id"])
    aws.give_root_credentials(prod, "password", "mfa")  # a root password someone set (password recovery)

    cluster.client.apply(root_access(credentialsManagement=True, rootSessions=True))
    wait_for(lambda: aws.root_access_features() == BOTH, timeout=30, what="both features enabled in IAM")
    trusted = aws.client().list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert "iam.amazonaws.com" in {s["ServicePrincipal"] for s in trusted}
    obj = wait_for(lambda: o if ((o := cluster.get("organizations", "organization")) or {}).get("status", {}).get(
        "rootAccess", {}).get("accountsChecked") == 2 else None, timeout=20, what="status.rootAccess")
    assert obj["status"]["rootAccess"] == {"enabledFeatures": sorted(BOTH), "accountsChecked": 2,
                                           "withRootCredentials": [prod], "withRootCredentialsCount": 1}
    assert wait_for(lambda: (cluster.get("awsaccounts", "prod") or {}).get("status", {}).get("rootCredentials"),
                    timeout=15, what="prod's rootCredentials") == "password,mfa"
    assert wait_for(lambda: (cluster.get("awsaccounts", "dev") or {}).get("status", {}).get("rootCredentials"),
                    timeout=15, what="dev's rootCredentials") == "none"

    # Root sessions disabled out of band: put back at the next resync (IAM's features are read every resync).
    aws.service_client("iam").disable_organizations_root_sessions()
    assert aws.root_access_features() == {"RootCredentialsManagement"}
    wait_for(lambda: aws.root_access_features() == BOTH, timeout=20, what="root sessions enabled again")
    reasons = {e["reason"] for e in cluster.client.events() if e["involvedObject"]["name"] == "organization"}
    assert {"TrustedAccessEnabled", "RootAccessFeatureEnabled"} <= reasons
