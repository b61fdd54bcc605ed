"""The Organization's accessRole end to end: the real operator against the sandbox; what each member account holds
is asserted through boto3 with credentials assumed in that account."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
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


def ops_role(aws: AwsSandbox) -> None:
    """The role OPS names, in the management account: IAM accepts a role principal only once the role exists."""
    aws.service_client("iam").create_role(RoleName="ops", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": MGMT_ROOT},
                                                "Action": "sts:AssumeRole"}]}))


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
    ops_role(aws)
    outside = adopted_account(aws, "Legacy")
    cluster.client.apply(account("dev", accountName="Dev", email="aws-dev@example.com"))
    dev = str(cluster.wait_ready("awsaccounts", "dev", timeout=30)["status"]["id"])
    cluster.client.apply(access_role())
    obj = wait_for(lambda: o if condition(o := cluster.get("organizations", "organization"), "Baseline")
                   and condition(o, "Baseline")["status"] == "True" else None, timeout=30,  # type: ignore[index]
                   what="Baseline True")
    assert obj["status"]["baseline"] == {"accounts": 2, "compliant": 2, "pending": 0, "failed": [], "failedCount": 0,
                                         "baselinedAccounts": sorted([outside, dev])}
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
    # A compliant account's role is read once every 10 resyncs: allow for a loaded machine.
    wait_for(lambda: principals(aws, dev) == {MGMT_ROOT, OPS}, timeout=60, what="the trust policy put back")


def test_report_mode_reports_a_widened_trust_policy(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_DRIFT_POLICY="report")
    ops_role(aws)
    dev = adopted_account(aws, "Dev")
    cluster.client.apply(access_role())
    wait_for(lambda: principals(aws, dev) == {MGMT_ROOT, OPS}, timeout=20, what="the role (new work, not drift)")
    # Until the account has its baseline, a change is still the operator's new work (put back even in report
    # mode): change it only once the Organization says the account is baselined.
    wait_for(lambda: dev in ((cluster.get("organizations", "organization") or {}).get("status", {})
                             .get("baseline", {}).get("baselinedAccounts") or []), timeout=20, what="dev baselined")
    iam_in(aws, dev).update_assume_role_policy(RoleName="Engineer", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                "Action": "sts:AssumeRole"}]}))
    obj = cluster.wait_reason("organizations", "organization", "Drifted", "DriftDetected", timeout=30)
    assert [d["field"] for d in obj["status"]["drift"]] == [f"accessRole[{dev}].trustPolicy"]
    assert principals(aws, dev) == {"*"}  # reported, not put back
    assert obj["status"]["baseline"]["failed"][0]["account"] == dev


def test_a_principal_iam_refuses_is_reported_with_the_field_and_not_retried_at_backoff_rate(
        aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    """A well-formed principal naming a role that does not exist: IAM refuses the trust policy
    (MalformedPolicyDocument); the Organization says which field and what is allowed, the account's baseline says
    why it failed, and the operator does not call CreateRole again until the spec changes (or the next resync)."""
    dev = adopted_account(aws, "Dev")
    cluster.client.apply(access_role())  # OPS names a role that does not exist in the management account
    obj = cluster.wait_reason("organizations", "organization", "Synced", "InvalidSpec", timeout=30)
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert message.startswith("spec.accessRole.trustedPrincipals: IAM refused the trust policy of role 'Engineer' "
                              f"in account {dev} (MalformedPolicyDocument: Invalid principal in policy: "
                              f'"AWS":"{OPS}")'), message
    assert "allowed: an account (arn:aws:iam::123456789012:root)" in message
    failed = wait_for(lambda: (cluster.get("organizations", "organization") or {})["status"]["baseline"]["failed"],
                      timeout=10, what="the account's failure in status.baseline")
    assert failed[0]["account"] == dev and "MalformedPolicyDocument" in failed[0]["reason"]
    time.sleep(3)  # the backoff (0.5 s doubling to 2 s in these tests) would have tried 2-3 times by now
    assert aws.calls.count("CreateRole") == 1
    assert principals(aws, dev) is None  # nothing half-made

    ops_role(aws)  # the principal exists now; the spec changes (a person fixes the list): it converges
    cluster.client.apply(access_role(managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"]))
    wait_for(lambda: principals(aws, dev) == {MGMT_ROOT, OPS}, timeout=20, what="the role once the principal exists")


def test_a_new_account_waits_for_its_role_to_be_assumable_then_gets_the_access_role(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    """AWS makes a new account's role assumable a while after CreateAccount (the sandbox: member_role_delay): the
    Organization and the account say WaitingForAccountAccess, then the role arrives on a later resync with no one
    touching the Organization object."""
    aws.member_role_delay = 4.0
    start_operator(AWSORG_RESYNC_SECONDS="1")
    cluster.client.apply(access_role(trustedPrincipals=[MGMT_ROOT]))
    cluster.wait_ready("organizations", "organization", timeout=20)
    generation = cluster.get("organizations", "organization")["metadata"]["generation"]  # type: ignore[index]
    cluster.client.apply(account("dev", accountName="Dev", email="aws-dev@example.com"))
    dev = str(cluster.wait_ready("awsaccounts", "dev", timeout=30)["status"]["id"])
    org = cluster.wait_reason("organizations", "organization", "Baseline", "WaitingForAccountAccess", timeout=15)
    assert org["status"]["baseline"]["pending"] == 1 and principals(aws, dev) is None
    acct = cluster.wait_reason("awsaccounts", "dev", "Baselined", "WaitingForAccountAccess", timeout=15)
    assert "AssumeRole" in condition(acct, "Baselined")["message"]  # type: ignore[index]
    wait_for(lambda: principals(aws, dev) == {MGMT_ROOT}, timeout=20, what="the role once assumable")
    cluster.wait_reason("awsaccounts", "dev", "Baselined", "Compliant", timeout=15)
    org = cluster.wait_reason("organizations", "organization", "Baseline", "Compliant", timeout=15)
    assert org["metadata"]["generation"] == generation


def test_compliance_survives_a_restart_and_baselined_goes_with_the_access_role(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    """After a restart the operator knows which accounts had their baseline (from the status it wrote): the
    conditions never flap to pending, and a role deleted while it was down is drift (reported under report), not
    new work done silently. Removing accessRole from the spec removes each account's Baselined condition."""
    first = start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_DRIFT_POLICY="report")
    dev_id = adopted_account(aws, "Legacy")  # no object declares it: only the Organization's status knows it
    cluster.client.apply(account("dev", accountName="Dev", email="aws-dev@example.com"))
    cluster.wait_ready("awsaccounts", "dev", timeout=30)
    cluster.client.apply(access_role(trustedPrincipals=[MGMT_ROOT]))
    cluster.wait_reason("organizations", "organization", "Baseline", "Compliant", timeout=30)
    cluster.wait_reason("awsaccounts", "dev", "Baselined", "Compliant", timeout=15)
    first.stop()
    iam_in(aws, dev_id).delete_role(RoleName="Engineer")  # behind the stopped operator's back

    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_DRIFT_POLICY="report")
    seen: set[tuple[str, str]] = set()
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        org, acct = cluster.get("organizations", "organization"), cluster.get("awsaccounts", "dev")
        seen.add(("dev", condition(acct, "Baselined")["reason"]))  # type: ignore[index]
        seen.add(("org", condition(org, "Baseline")["reason"]))  # type: ignore[index]
        time.sleep(0.1)
    assert ("dev", "Compliant") in seen and not {r for w, r in seen if w == "dev"} - {"Compliant"}, seen
    assert not {r for w, r in seen if w == "org"} - {"Compliant", "BaselineFailed"}, seen
    org = cluster.wait_reason("organizations", "organization", "Drifted", "DriftDetected", timeout=10)
    assert [d["field"] for d in org["status"]["drift"]] == [f"accessRole[{dev_id}]"]
    time.sleep(2.5)  # two more resyncs: still drift (it had its baseline), never turned into new work
    assert principals(aws, dev_id) is None  # reported, not recreated
    assert condition(cluster.get("organizations", "organization"), "Drifted")["status"] == "True"  # type: ignore[index]

    cluster.client.replace("organizations", "organization", {**org, "spec": {}})
    wait_for(lambda: condition(cluster.get("awsaccounts", "dev"), "Baselined") is None, timeout=15,
             what="Baselined removed with accessRole")


def engineer(aws: AwsSandbox, account_id: str) -> dict[str, Any] | None:
    """The Engineer role as IAM holds it in the account (None: there is none)."""
    try:
        return dict(iam_in(aws, account_id).get_role(RoleName="Engineer")["Role"])
    except Exception:
        return None


def test_conditions_and_session_duration_are_applied_put_back_and_an_equal_policy_is_left_alone(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator], tmp_path: Path) -> None:
    """The administrator requires aws:PrincipalOrgID and bounds the session: an accessRole without it is refused with
    no write; with conditions and maxSessionDuration, the member account's role holds them; a condition removed out
    of band is put back; a trust policy equal in meaning but written otherwise is not rewritten."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OperatorPolicy\naccessRole:\n"
                      "  requiredConditions: [{operator: StringEquals, key: 'aws:PrincipalOrgID'}]\n"
                      "  maxSessionDuration: 7200\n")
    dev = adopted_account(aws, "Dev")
    org_id = aws.client().describe_organization()["Organization"]["Id"]
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_POLICY_FILE=str(policy))
    aws.reset_calls()

    cluster.client.apply(access_role(trustedPrincipals=[MGMT_ROOT], maxSessionDuration=14400))
    obj = cluster.wait_reason("organizations", "organization", "Synced", "ForbiddenByPolicy", timeout=30)
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert ("spec.accessRole.conditions: the trust policy must carry the condition StringEquals aws:PrincipalOrgID"
            in message and "(administrator's policy: accessRole.requiredConditions)" in message), message
    assert ("spec.accessRole.maxSessionDuration: 14400 seconds is longer than allowed; allowed: 3600 to 7200"
            in message), message
    assert [c for c in aws.calls if c.startswith(("Create", "Update", "Attach", "Put"))] == []

    conditions = [{"operator": "StringEquals", "key": "aws:PrincipalOrgID", "values": [org_id]},
                  {"operator": "Bool", "key": "aws:MultiFactorAuthPresent", "values": ["true"]}]
    cluster.client.apply(access_role(trustedPrincipals=[MGMT_ROOT], conditions=conditions, maxSessionDuration=7200))
    role = wait_for(lambda: engineer(aws, dev), timeout=30, what="the role in the member account")
    assert role["MaxSessionDuration"] == 7200
    assert role["AssumeRolePolicyDocument"]["Statement"] == [{
        "Effect": "Allow", "Principal": {"AWS": MGMT_ROOT}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}, "Bool": {"aws:MultiFactorAuthPresent": "true"}}}]
    cluster.wait_reason("organizations", "organization", "Baseline", "Compliant", timeout=30)

    # A condition removed out of band (MFA no longer required) is put back.
    iam = iam_in(aws, dev)
    iam.update_assume_role_policy(RoleName="Engineer", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": MGMT_ROOT},
                                                "Action": "sts:AssumeRole",
                                                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}}]}))

    def condition_block() -> Any:
        statements = (engineer(aws, dev) or {}).get("AssumeRolePolicyDocument", {}).get("Statement", [{}])
        return (statements[0] if isinstance(statements, list) else statements).get("Condition")

    # A compliant account's role is read once every 10 resyncs: allow for a loaded machine.
    wait_for(lambda: "Bool" in condition_block(), timeout=60, what="the MFA condition put back")

    # The same policy written otherwise (keys in another order, one statement as an object, values as lists, key
    # names in another case, the account as its id) is equal in meaning: never rewritten.
    iam.update_assume_role_policy(RoleName="Engineer", PolicyDocument=json.dumps({
        "Statement": {"Condition": {"Bool": {"AWS:MultiFactorAuthPresent": ["true"]},
                                    "StringEquals": {"aws:principalorgid": [org_id]}},
                      "Action": ["sts:AssumeRole"], "Principal": {"AWS": ["123456789012"]}, "Effect": "Allow"},
        "Version": "2012-10-17"}))
    written = aws.calls.count("UpdateAssumeRolePolicy")
    reads = aws.calls.count("GetRole")
    # Read twice since (the first look's pass is over by the second): no write in between.
    wait_for(lambda: aws.calls.count("GetRole") >= reads + 2, timeout=60, what="the role read again, twice")
    assert aws.calls.count("UpdateAssumeRolePolicy") == written, "an equal trust policy was rewritten"
    assert "AWS:MultiFactorAuthPresent" in condition_block()["Bool"]  # as written out of band
