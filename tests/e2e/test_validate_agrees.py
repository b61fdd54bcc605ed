"""What ``awsorg validate`` says about two objects that declare one AWS resource is what the operator does with
them: both read the claim rules of ``controller.planner.claims``."""

from __future__ import annotations

import pytest
import yaml

from controller.sandbox.aws import AwsSandbox
from controller.workflow.validate import validate_texts
from tests.e2e.harness import Cluster, Operator, account, condition, orgunit, wait_for

pytestmark = pytest.mark.e2e


def test_an_orgunit_under_the_root_by_its_id_and_one_without_a_parent_are_one_claim(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    """``parentId: r-...`` is the root (an organization has one): validate calls the second OrgUnit a duplicate
    of the first, so the operator must refuse it too, not bind both objects to one OU."""
    root = aws.ids["root_id"]
    first = orgunit("workloads", name="Workloads")
    second = orgunit("workloads-by-root-id", name="Workloads", parentId=root)

    report = validate_texts([("ous.yaml", yaml.safe_dump_all([first, second]))])
    assert [(f.name, f.field) for f in report.errors] == [("workloads-by-root-id", "spec.name")]
    assert "already has the AWS name 'Workloads' under the root" in report.errors[0].message

    cluster.client.apply(first)
    ou_id = cluster.wait_ready("orgunits", "workloads")["status"]["id"]
    cluster.client.apply(second)
    refused = cluster.wait_reason("orgunits", "workloads-by-root-id", "Synced", "DuplicateName")
    message = condition(refused, "Synced")["message"]  # type: ignore[index]
    assert "'Workloads'" in message and "OrgUnit 'workloads'" in message and "the root" in message
    assert not (refused.get("status") or {}).get("id")  # not bound to the first object's OU
    assert cluster.get("orgunits", "workloads")["status"]["id"] == ou_id  # type: ignore[index]


def test_two_accounts_naming_one_account_id_are_one_claim(aws: AwsSandbox, cluster: Cluster,
                                                          operator: Operator) -> None:
    """An account id is claimed as well as the email: validate blames the second object naming it, and the operator
    refuses that one, naming the first, without binding it (no status.id: its deletion can close nothing)."""
    org = aws.client()
    request = org.create_account(AccountName="Legacy", Email="legacy@example.com")["CreateAccountStatus"]
    legacy = wait_for(lambda: org.describe_create_account_status(CreateAccountRequestId=request["Id"])[
        "CreateAccountStatus"].get("AccountId"), what="an account made outside Git")
    first = account("legacy", accountName="Legacy", email="legacy@example.com", accountId=legacy)
    second = account("legacy-again", accountName="Legacy", email="other@example.com", accountId=legacy,
                     deletionPolicy="Close")

    report = validate_texts([("accounts.yaml", yaml.safe_dump_all([first, second]))])
    assert [(f.name, f.field) for f in report.errors] == [("legacy-again", "spec.accountId")]
    assert f"account {legacy} is already declared by AwsAccount 'legacy'" in report.errors[0].message

    cluster.client.apply(first)
    assert cluster.wait_ready("awsaccounts", "legacy")["status"]["id"] == legacy
    cluster.client.apply(second)
    refused = cluster.wait_reason("awsaccounts", "legacy-again", "Synced", "DuplicateAccount")
    assert f"account {legacy} is already declared by AwsAccount 'legacy'" in condition(refused, "Synced")["message"]  # type: ignore[index]
    assert not (refused.get("status") or {}).get("id")
