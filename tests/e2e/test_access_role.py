"""The Organization's accessRole end to end: the real operator against the sandbox; what each member account holds
is asserted through boto3 with credentials assumed in that account."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import API, Cluster, Operator, account, condition, wait_for

pytestmark = pytest.mark.e2e
MGMT_ROOT = "arn:aws:iam::123456789012:root"
OPS = "arn:aws:iam::123456789012:role/ops"


def access_role(**extra: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Organization", "metadata": {"name": "organization"},
            "spec": {"accessRole": {"roleName": "Engineer", "trustedPrincipals": [MGMT_ROOT, OPS], **extra}}}


def iam_in(aws: AwsSandbox, account_id: str) -> Any:
    return aws.member_client("iam", account_id)


def principals(aws: AwsSandbox, account_id: str) -> set[str] | None:
    try:
        doc = iam_in(aws, account_id).get_role(RoleName="Engineer")["Role"]["AssumeRolePolicyDocument"]
    except Exception:
        return None
    found = doc["Statement"][0]["Principal"]["AWS"]
    return {found} if isinstance(found, str) else set(found)


def adopted_account(aws: AwsSandbox, name: str) -> str:
    """An account made outside the operator (no object declares it): it gets the role too."""
    org = aws.client()
    request = org.create_account(AccountName=name, Email=f"{name.lower()}@example.com")["CreateAccountStatus"]
    return str(wait_for(lambda: org.describe_create_account_status(CreateAccountRequestId=request["Id"])
                        ["CreateAccountStatus"].get("AccountId"), timeout=10))


def test_every_member_account_gets_the_role_and_a_new_one_too(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1")
    outside = adopted_account(aws, "Legacy")
    cluster.client.apply(account("dev", accountName="Dev", email="aws-dev@example.com"))
    dev = str(cluster.wait_ready("awsaccounts", "dev", timeout=30)["status"]["id"])
    cluster.client.apply(access_role())
    obj = wait_for(lambda: o if condition(o := cluster.get("organizations", "organization"), "Baseline")
                   and condition(o, "Baseline")["status"] == "True" else None, timeout=30,  # type: ignore[index]
                   what="Baseline True")
    assert obj["status"]["baseline"] == {"accounts": 2, "compliant": 2, "pending": 0, "failed": []}
    for account_id in (outside, dev):
        assert principals(aws, account_id) == {MGMT_ROOT, OPS}
    dev_obj = wait_for(lambda: o if condition(o := cluster.get("awsaccounts", "dev"), "Baselined") else None,
                       timeout=15, what="Baselined on AwsAccount dev")
    assert condition(dev_obj, "Baselined")["status"] == "True"  # type: ignore[index]
    generation = obj["metadata"]["generation"]

    # An account added later gets the role with no change to the Organization object.
    cluster.client.apply(account("staging", accountName="Staging", email="aws-staging@example.com"))
    staging = str(cluster.wait_ready("awsaccounts", "staging", timeout=30)["status"]["id"])
    wait_for(lambda: principals(aws, staging) == {MGMT_ROOT, OPS}, timeout=20, what="the role in the new account")
    obj = wait_for(lambda: o if (o := cluster.get("organizations", "organization"))["status"]["baseline"]
                   ["compliant"] == 3 else None, timeout=15, what="3 compliant")
    assert obj["metadata"]["generation"] == generation

    # A trust policy widened out of band is put back.
    iam_in(aws, dev).update_assume_role_policy(RoleName="Engineer", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": [MGMT_ROOT, OPS, "*"]},
                                                "Action": "sts:AssumeRole"}]}))
    wait_for(lambda: principals(aws, dev) == {MGMT_ROOT, OPS}, timeout=30, what="the trust policy put back")


def test_report_mode_reports_a_widened_trust_policy(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_DRIFT_POLICY="report")
    dev = adopted_account(aws, "Dev")
    cluster.client.apply(access_role())
    wait_for(lambda: principals(aws, dev) == {MGMT_ROOT, OPS}, timeout=20, what="the role (new work, not drift)")
    iam_in(aws, dev).update_assume_role_policy(RoleName="Engineer", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                "Action": "sts:AssumeRole"}]}))
    obj = cluster.wait_reason("organizations", "organization", "Drifted", "DriftDetected", timeout=30)
    assert [d["field"] for d in obj["status"]["drift"]] == [f"accessRole[{dev}].trustPolicy"]
    assert principals(aws, dev) == {"*"}  # reported, not put back
    assert obj["status"]["baseline"]["failed"][0]["account"] == dev
