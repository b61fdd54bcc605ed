"""AWS's limits, end to end: the real operator against the sandbox, which refuses what AWS refuses.

A removal AWS refuses says what a person must do and is not retried at full rate; a full account quota says the
quota and how to raise it; an eleventh SCP on a target is refused before CreatePolicy, even when ten arrive at
once, and a refusal is not drift; a quota below the operator's limits names the setting to change; AWS's "try
again later" answers are waited out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from controller.api import limits
from controller.planner.policy_document import minify
from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import (
    Cluster,
    Operator,
    account,
    condition,
    confirm_deletion,
    free_port,
    metric,
    orgunit,
    scrape,
    wait_for,
)
from tests.e2e.test_policy import DENY_ROOT, DENY_S3, SCP, enable_scps, policies_on, scp

pytestmark = pytest.mark.e2e


def test_removing_a_new_account_says_what_to_do_and_is_not_retried_at_full_rate(
        aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(account("fresh", accountName="Fresh", email="fresh@example.com",
                                 deletionPolicy="RemoveFromOrganization"))
    account_id = cluster.wait_ready("awsaccounts", "fresh", timeout=30)["status"]["id"]
    confirm_deletion(cluster, "fresh", account_id)
    cluster.client.delete("awsaccounts", "fresh")
    obj = cluster.wait_reason("awsaccounts", "fresh", "Synced", "CannotLeaveOrganization")
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert "WAIT_PERIOD_ACTIVE" in message and limits.REMOVAL_CONSTRAINTS["WAIT_PERIOD_ACTIVE"] in message, message
    assert condition(obj, "Ready")["reason"] == "CannotLeaveOrganization"  # type: ignore[index]
    # A person must act first: looked at again at the resync interval (300 s here), not on the 0.5-2 s backoff.
    time.sleep(4)
    assert aws.calls.count("RemoveAccountFromOrganization") == 1, aws.calls
    assert account_id in {a["Id"] for a in aws.client().list_accounts()["Accounts"]}
    assert cluster.get("awsaccounts", "fresh") is not None  # kept until AWS lets the account go


def test_a_full_account_quota_says_the_quota_and_how_to_raise_it(
        aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    aws.quotas.max_accounts = 2  # the management account and one member (the fixture restores AWS's 10)
    cluster.client.apply(account("first", accountName="First", email="first@example.com"))
    cluster.wait_ready("awsaccounts", "first", timeout=30)
    cluster.client.apply(account("second", accountName="Second", email="second@example.com"))
    obj = cluster.wait_reason("awsaccounts", "second", "Synced", "AccountQuotaReached", timeout=30)
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert "ACCOUNT_LIMIT_EXCEEDED" in message and limits.RAISE_ACCOUNT_QUOTA in message, message
    assert f"{limits.DEFAULT_MAX_ACCOUNTS} unless raised" in message
    assert len(aws.client().list_accounts()["Accounts"]) == 2
    # A person must raise the quota first: tried again after the resync interval (300 s here), then later and
    # later, not on the 0.5-2 s backoff, which would leave one more FAILED CreateAccount request in AWS's history
    # every few seconds.
    time.sleep(4)
    assert aws.calls.count("CreateAccount") == 2, aws.calls


def sized(characters: int) -> dict[str, object]:
    """An SCP whose minified JSON is exactly ``characters`` long (a long Sid: letters only, as IAM's grammar says)."""
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Deny", "Action": "s3:DeleteBucket",
                                                        "Resource": "*"}]}
    document["Statement"][0]["Sid"] = "S" * (characters - len(minify(document)))  # type: ignore[index]
    assert len(minify(document)) == characters
    return document


def test_ten_policies_on_a_target_and_a_10000_character_one_the_eleventh_refused_before_any_call(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    """AWS "What's New" 2026-05-15: 10 SCPs per target, 10,240 characters each.  FullAWSAccess takes one of the ten
    places: nine are attached (one of 10,000 characters), the tenth declared is refused before CreatePolicy (no
    policy of it left in AWS), and the refusal is not drift; a 10,241-character SCP is refused before any call."""
    port = free_port()
    start_operator(AWSORG_METRICS_PORT=str(port))
    enable_scps(aws)
    ou = aws.client().create_organizational_unit(ParentId=aws.ids["root_id"], Name="Team")["OrganizationalUnit"]["Id"]
    most = limits.MAX_POLICIES_PER_TYPE[SCP]
    assert most == 10
    aws.reset_calls()
    for i in range(most):
        cluster.client.apply(scp(f"guard-{i}", document=sized(10_000) if i == 0 else DENY_S3, targets={"ids": [ou]}))
    cluster.client.apply(scp("too-big", document=sized(10_241), targets={"root": True}))

    def settled() -> list[str] | None:
        reasons = [(condition(cluster.get("servicecontrolpolicies", f"guard-{i}"), "Synced") or {}).get("reason")
                   for i in range(most)]
        return reasons if sorted(map(str, reasons)) == ["LimitExceeded", *["ReconcileSuccess"] * (most - 1)] else None

    reasons = wait_for(settled, timeout=60, what="nine policies attached and one refused")
    refused = f"guard-{reasons.index('LimitExceeded')}"
    names = {p["Name"] for p in aws.client().list_policies(Filter=SCP)["Policies"]}
    assert names == {"FullAWSAccess"} | {f"guard-{i}" for i in range(most)} - {refused}
    assert len(policies_on(aws, ou)) == most
    if refused != "guard-0":
        assert cluster.get("servicecontrolpolicies", "guard-0")["status"]["documentSize"] == 10_000
    obj = cluster.get("servicecontrolpolicies", refused)
    assert f"AWS allows at most {most}" in condition(obj, "Synced")["message"]  # type: ignore[index]
    assert (condition(obj, "Drifted") or {}).get("status") != "True"
    assert metric(scrape(port), "awsorg_drift_detected_total", kind="ServiceControlPolicy") == 0
    big = cluster.wait_reason("servicecontrolpolicies", "too-big", "Synced", "InvalidSpec")
    assert "10,241 characters" in condition(big, "Synced")["message"]  # type: ignore[index]
    assert "10,240" in condition(big, "Synced")["message"]  # type: ignore[index]
    # at most one CreatePolicy per guard (two arriving at once may both try the last place; AWS refuses one and
    # its policy goes): none for the 10,241-character one; a try AWS throttled before any effect is not one
    assert aws.answered_calls()["CreatePolicy"] <= most, aws.calls


def test_a_quota_below_the_operators_limit_names_the_setting_to_change(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    """An organization whose SCP quota is 3 (say) while the operator is left at AWS's 10: AWS refuses the fourth,
    and the reason names the setting that would have refused it before the call."""
    aws.quotas.policies_per_target[SCP] = 3  # the fixture restores AWS's figures
    start_operator("--limits", "scps-per-target=10")
    enable_scps(aws)
    ou = aws.client().create_organizational_unit(ParentId=aws.ids["root_id"], Name="Small")["OrganizationalUnit"]["Id"]
    for i in range(3):
        cluster.client.apply(scp(f"small-{i}", document=DENY_S3, targets={"ids": [ou]}))

    def refused() -> str | None:
        for i in range(3):
            found = condition(cluster.get("servicecontrolpolicies", f"small-{i}"), "Synced") or {}
            if found.get("reason") == "LimitExceeded" and "MAX_POLICY_TYPE" in str(found.get("message")):
                return str(found["message"])
        return None

    message = wait_for(refused, timeout=40, what="AWS refusing the third of ours (the fourth SCP)")
    assert "scps-per-target=9" in message and limits.LIMITS_SETTING in message, message
    assert len(policies_on(aws, ou)) == 3


def test_a_refused_new_attachment_of_a_policy_is_not_drift(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    port = free_port()
    start_operator(AWSORG_METRICS_PORT=str(port))
    enable_scps(aws)
    org = aws.client()
    full = org.create_organizational_unit(ParentId=aws.ids["root_id"], Name="Full")["OrganizationalUnit"]["Id"]
    for i in range(1, 10):  # with FullAWSAccess: ten
        pid = org.create_policy(Name=f"legacy-{i}", Description="", Type=SCP,
                                Content=str(DENY_S3).replace("'", '"'))["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=pid, TargetId=full)
    cluster.client.apply(orgunit("home", name="Home"))
    cluster.client.apply(scp("guard", document=DENY_ROOT, targets={"orgUnitRefs": [{"name": "home"}]}))
    cluster.wait_ready("servicecontrolpolicies", "guard", timeout=30)
    cluster.client.apply(scp("guard", document=DENY_ROOT, targets={"orgUnitRefs": [{"name": "home"}], "ids": [full]}))
    obj = cluster.wait_reason("servicecontrolpolicies", "guard", "Synced", "LimitExceeded")
    assert (condition(obj, "Drifted") or {}).get("status") != "True", obj["status"]
    time.sleep(1)  # a few retries on the backoff: still a refusal, never drift
    assert metric(scrape(port), "awsorg_drift_detected_total", kind="ServiceControlPolicy") == 0
    assert (condition(cluster.get("servicecontrolpolicies", "guard"), "Drifted") or {}).get("status") != "True"


def test_policy_changes_in_progress_and_a_finalizing_organization_are_waited_out(
        aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(orgunit("up", name="Up"))
    cluster.wait_ready("orgunits", "up", timeout=30)  # the operator is up and acting
    aws.quotas.enable_policy_type_delay = 1.5  # SCPs stay PENDING_ENABLE for 1.5 s
    aws.finalize_organization(1.5)
    aws.reset_calls()
    cluster.client.apply(account("early", accountName="Early", email="early@example.com"))
    cluster.client.apply(scp("guard", document=DENY_ROOT, targets={"root": True}))
    policy_id = cluster.wait_ready("servicecontrolpolicies", "guard", timeout=30)["status"]["id"]
    cluster.wait_ready("awsaccounts", "early", timeout=30)
    assert aws.ids["root_id"] in {t["TargetId"] for t in aws.client().list_targets_for_policy(
        PolicyId=policy_id)["Targets"]}
    assert aws.calls.count("CreateAccount") >= 2, aws.calls  # the first met FinalizingOrganizationException
    assert aws.calls.count("EnablePolicyType") >= 2, aws.calls  # then PolicyChangesInProgressException


def test_what_the_api_server_cannot_check_the_operator_refuses_before_any_aws_write(
        aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    """A tag key's pattern and an RCP's grammar: InvalidSpec in awsorg validate's words, and AWS untouched (no RCPs
    enabled on the root as a side effect)."""
    rcp_doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "ec2:RunInstances",
                                                       "Resource": "*"}]}
    cluster.client.apply(orgunit("team", name="Team", tags={"bad key!#$%": "x"}))
    cluster.client.apply(scp("no-ec2", type="RESOURCE_CONTROL_POLICY", document=rcp_doc))
    ou = cluster.wait_reason("orgunits", "team", "Synced", "InvalidSpec")
    message = condition(ou, "Synced")["message"]  # type: ignore[index]
    assert "spec.tags.bad key!#$%" in message and limits.TAG_KEY_PATTERN_MESSAGE in message, message
    policy = cluster.wait_reason("servicecontrolpolicies", "no-ec2", "Synced", "InvalidSpec")
    message = condition(policy, "Synced")["message"]  # type: ignore[index]
    assert "spec.document.Statement[0].Action" in message and "ec2" in message, message
    writes = [c for c in aws.calls if not c.startswith(("List", "Describe"))]
    assert writes == [], writes
    assert aws.client().list_roots()["Roots"][0]["PolicyTypes"] == []
