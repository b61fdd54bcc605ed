"""The administrator's policy (AWSORG_POLICY_FILE) end to end: the real operator against the sandbox.

What a merged object asks beyond the policy is ``Synced=False``, reason ``ForbiddenByPolicy``, naming the rule and
the field, and nothing is written to AWS: the writes are counted at the sandbox (every call but reads, as in
tests/e2e/test_uninstall.py) and what AWS holds is read back. The file is the administrator's: the operator refuses to
start on an invalid one, and a change to it applies while the operator runs (within a second or two: the resync
looks at the file every second and compares every object at once when it changed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from controller.demo import operator_env
from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import (
    Cluster,
    Operator,
    account,
    condition,
    confirm_deletion,
    free_port,
    metric,
    scrape,
    wait_for,
)
from tests.e2e.test_access_role import access_role, adopted_account, principals
from tests.e2e.test_uninstall import aws_writes

pytestmark = pytest.mark.e2e
OUTSIDE = "arn:aws:iam::999999999999:root"
HEADER = "apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OperatorPolicy\n"


def write_policy(path: Path, text: str) -> None:
    """Replace the file as the kubelet updates a ConfigMap volume: a new file put in place at once."""
    new = path.with_suffix(".new")
    new.write_text(HEADER + text)
    os.replace(new, path)


def synced(cluster: Cluster, plural: str, name: str) -> dict | None:
    obj = cluster.get(plural, name)
    cond = condition(obj, "Synced")
    return obj if cond and cond["status"] == "True" else None


def test_an_outside_principal_is_refused_with_no_write_until_the_administrator_allows_it(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    write_policy(policy, "")  # an empty policy: the defaults
    member = adopted_account(aws, "Workloads")
    port = free_port()
    start_operator(AWSORG_POLICY_FILE=str(policy), AWSORG_METRICS_PORT=str(port))
    aws.reset_calls()

    cluster.client.apply(access_role(trustedPrincipals=[OUTSIDE]))
    obj = cluster.wait_reason("organizations", "organization", "Synced", "ForbiddenByPolicy")
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert "spec.accessRole.trustedPrincipals[0]" in message and "account 999999999999 is not in this organization" \
        in message and "(administrator's policy: accessRole.allowedPrincipals)" in message, message
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert aws_writes(aws) == []
    assert principals(aws, member) is None  # no role in the member account

    # The administrator names that principal in the file: it applies while the operator runs.
    write_policy(policy, f"accessRole:\n  allowedPrincipals: [organization, '{OUTSIDE}']\n")
    wait_for(lambda: synced(cluster, "organizations", "organization"), timeout=20, what="the Organization Synced")
    wait_for(lambda: principals(aws, member) == {OUTSIDE}, timeout=20, what="the role in the member account")
    assert "CreateRole" in aws_writes(aws)
    wait_for(lambda: metric(scrape(port), "awsorg_policy_file_version") == 1, timeout=5, what="version 1")

    # A typo in the file never lifts (nor changes) the guardrails: the last valid policy stays, the gauge says so.
    write_policy(policy, "accessRole:\n  allowedPrincipal: ['*']\n")
    wait_for(lambda: (s := scrape(port)) and metric(s, "awsorg_policy_file_valid") == 0 and metric(
        s, "awsorg_policy_file_version") == 1, timeout=5, what="the change refused")
    assert synced(cluster, "organizations", "organization") and principals(aws, member) == {OUTSIDE}


def test_the_operator_refuses_to_start_on_an_invalid_policy_file(aws: AwsSandbox, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    write_policy(policy, "deletion:\n  awsAccount: [Retain, Destroy]\n")
    env = operator_env(aws, tmp_path / "no-kubeconfig", AWSORG_POLICY_FILE=str(policy))
    done = subprocess.run([sys.executable, "-m", "controller", "run"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"awsorg: AWSORG_POLICY_FILE: {policy}: deletion.awsAccount.1: Input should be "
                                  "'Retain', 'RemoveFromOrganization' or 'Close'"), done.stderr
    assert aws.calls == []  # it stopped before asking anything of AWS


def test_closing_the_management_account_is_refused_before_anything_is_done(
        aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    mgmt = aws.ids["management_account_id"]
    described = aws.client().describe_account(AccountId=mgmt)["Account"]
    aws.reset_calls()
    cluster.client.apply(account("mgmt", accountName=described["Name"], email=described["Email"], accountId=mgmt,
                                 deletionPolicy="Close"))
    obj = cluster.wait_reason("awsaccounts", "mgmt", "Synced", "ForbiddenByPolicy")
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert f"Close is never allowed for account {mgmt}: it is the management account" in message, message
    assert "spec.deletionPolicy" in message and "(administrator's policy: deletion.awsAccount)" in message
    assert "id" not in obj["status"]  # a refused object binds nothing
    cluster.client.delete("awsaccounts", "mgmt")
    cluster.wait_gone("awsaccounts", "mgmt")
    assert aws_writes(aws) == []
    assert aws.client().describe_account(AccountId=mgmt)["Account"]["Status"] == "ACTIVE"


def test_an_account_the_administrator_protects_later_is_never_closed(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    write_policy(policy, "")
    start_operator(AWSORG_POLICY_FILE=str(policy))
    cluster.client.apply(account("payments", accountName="Payments", email="payments@example.com",
                                 deletionPolicy="Close"))
    payments = str(cluster.wait_ready("awsaccounts", "payments", timeout=30)["status"]["id"])

    write_policy(policy, f"protected:\n  accounts: ['{payments}']\n")
    obj = cluster.wait_reason("awsaccounts", "payments", "Synced", "ForbiddenByPolicy")
    assert "it is protected by the administrator's policy" in condition(obj, "Synced")["message"]  # type: ignore[index]
    confirm_deletion(cluster, "payments", payments)  # the second word a Close needs: the policy still says no
    aws.reset_calls()
    cluster.client.delete("awsaccounts", "payments")
    cluster.wait_gone("awsaccounts", "payments")
    assert aws_writes(aws) == []
    assert aws.client().describe_account(AccountId=payments)["Account"]["Status"] == "ACTIVE"
    warned = [e for e in cluster.client.events() if e["involvedObject"]["name"] == "payments"
              and e["reason"] == "ForbiddenByPolicy"]
    assert any("nothing deleted in AWS" in e["message"] and "deletion.awsAccount" in e["message"] for e in warned), \
        warned
