"""ServiceControlPolicy end to end: the real operator against the sandbox Kubernetes API and the strict AWS sandbox.

Assertions are on what AWS then holds (boto3, and the sandbox's server-side call log) and on what the API
then holds (status, conditions, events).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.planner.policy_document import minify
from controller.sandbox.aws import AwsSandbox
from controller.workflow.plan import plan_paths
from controller.workflow.validate import validate_paths
from tests.e2e.harness import (
    API,
    Cluster,
    Operator,
    condition,
    free_port,
    metric,
    orgunit,
    plan_readers,
    scrape,
    wait_for,
)

pytestmark = pytest.mark.e2e

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
POLICY_WRITES = {"EnablePolicyType", "CreatePolicy", "UpdatePolicy", "DeletePolicy", "AttachPolicy", "DetachPolicy"}
DENY_ROOT = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "DenyRoot", "Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}],
}
DENY_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}


def scp(object_name: str, /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "ServiceControlPolicy", "metadata": {"name": object_name}, "spec": spec}


def targets_of(aws: AwsSandbox, policy_id: str) -> set[str]:
    return {t["TargetId"] for t in aws.client().list_targets_for_policy(PolicyId=policy_id)["Targets"]}


def policies_on(aws: AwsSandbox, target_id: str, ptype: str = SCP) -> set[str]:
    found = aws.client().list_policies_for_target(TargetId=target_id, Filter=ptype)["Policies"]
    return {p["Name"] for p in found}


def content_of(aws: AwsSandbox, policy_id: str) -> dict[str, Any]:
    return dict(json.loads(aws.client().describe_policy(PolicyId=policy_id)["Policy"]["Content"]))


def enable_scps(aws: AwsSandbox) -> None:
    aws.client().enable_policy_type(RootId=aws.ids["root_id"], PolicyType=SCP)


def synced_generation(cluster: Cluster, name: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        obj = cluster.get("servicecontrolpolicies", name)
        ok = obj and obj["status"].get("observedGeneration") == obj["metadata"]["generation"] and (
            (condition(obj, "Ready") or {}).get("status") == "True")
        return obj if ok else None

    return check


def events_for(cluster: Cluster, name: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in cluster.client.events()
            if e.get("involvedObject", {}).get("name") == name and e.get("reason") == reason]


def test_created_attached_updated_and_detached(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    root = aws.ids["root_id"]
    cluster.client.apply(orgunit("production", name="Production"))
    cluster.client.apply(orgunit("non-production", name="Non-Production"))
    cluster.client.apply(scp("deny-root", description="no root user", document=DENY_ROOT, tags={"team": "platform"},
                             targets={"root": True, "orgUnitRefs": [{"name": "production"},
                                                                    {"name": "non-production"}]}))
    obj = cluster.wait_ready("servicecontrolpolicies", "deny-root")
    prod = cluster.wait_ready("orgunits", "production")["status"]["id"]
    nonprod = cluster.wait_ready("orgunits", "non-production")["status"]["id"]

    policy_id = obj["status"]["id"]
    assert targets_of(aws, policy_id) == {root, prod, nonprod}
    assert obj["status"]["attachedTargetIds"] == sorted([root, prod, nonprod])
    assert obj["status"]["documentSize"] == len(minify(DENY_ROOT))
    described = aws.client().describe_policy(PolicyId=policy_id)["Policy"]
    assert described["Content"] == minify(DENY_ROOT)  # minified, keys in the order written
    assert described["PolicySummary"]["Description"] == "no root user"
    assert {t["Key"]: t["Value"] for t in aws.client().list_tags_for_resource(ResourceId=policy_id)["Tags"]} == {
        "team": "platform"}
    # SCPs were not enabled in the new organization: the operator enabled them and said so.
    [enabled] = events_for(cluster, "deny-root", "PolicyTypeEnabled")
    assert SCP in enabled["message"] and "FullAWSAccess" in enabled["message"]
    assert policies_on(aws, prod) == {"FullAWSAccess", "deny-root"}

    # Content changed in Git: UpdatePolicy, same id.
    cluster.client.patch("servicecontrolpolicies", "deny-root", {"spec": {"document": DENY_S3}})
    wait_for(synced_generation(cluster, "deny-root"), what="the content update to be synced")
    assert content_of(aws, policy_id) == DENY_S3

    # An OU removed from targets (and the root): detached in AWS, where FullAWSAccess remains.
    aws.reset_calls()
    cluster.client.patch("servicecontrolpolicies", "deny-root",
                         {"spec": {"targets": {"root": False, "orgUnitRefs": [{"name": "production"}]}}})
    obj = wait_for(synced_generation(cluster, "deny-root"), what="the detach to be synced")
    assert targets_of(aws, policy_id) == {prod}
    assert obj["status"]["attachedTargetIds"] == [prod]
    assert policies_on(aws, nonprod) == {"FullAWSAccess"}
    assert "CreatePolicy" not in aws.calls and "AttachPolicy" not in aws.calls


def test_existing_policy_is_adopted_by_name(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    enable_scps(aws)
    org = aws.client()
    existing = org.create_policy(Name="deny-root", Description="", Type=SCP, Content=json.dumps(DENY_S3))
    existing_id = existing["Policy"]["PolicySummary"]["Id"]
    # An RCP-type namesake would be another policy: names are unique per type only.
    aws.reset_calls()
    cluster.client.apply(scp("deny-root", document=DENY_ROOT, targets={"root": True}))
    obj = cluster.wait_ready("servicecontrolpolicies", "deny-root")
    assert obj["status"]["id"] == existing_id
    assert "CreatePolicy" not in aws.calls
    assert content_of(aws, existing_id) == DENY_ROOT
    assert targets_of(aws, existing_id) == {aws.ids["root_id"]}
    assert events_for(cluster, "deny-root", "Adopted")


def test_eleventh_policy_on_an_ou_is_refused_before_calling_aws(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    enable_scps(aws)
    org = aws.client()
    ou = org.create_organizational_unit(ParentId=aws.ids["root_id"], Name="Full")["OrganizationalUnit"]["Id"]
    for i in range(1, 10):  # with FullAWSAccess: ten (AWS's quota since 2026-05-15)
        pid = org.create_policy(Name=f"legacy-{i}", Description="", Type=SCP,
                                Content=json.dumps(DENY_S3))["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=pid, TargetId=ou)
    aws.reset_calls()
    cluster.client.apply(scp("eleventh", document=DENY_ROOT, targets={"ids": [ou]}))
    obj = cluster.wait_reason("servicecontrolpolicies", "eleventh", "Synced", "LimitExceeded")
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    legacy = ", ".join(f"legacy-{i}" for i in range(1, 10))
    assert (f"11 SCPs on OU 'Full' ({ou}) (10 customer managed: {legacy}, eleventh + FullAWSAccess, which AWS "
            "attaches to every target); AWS allows at most 10 SCPs per target") in message, message
    assert "scps-per-target" in message
    assert not POLICY_WRITES & set(aws.calls)
    assert len(policies_on(aws, ou)) == 10


def test_validate_plan_and_the_operator_count_fullawsaccess_alike(
    aws: AwsSandbox, cluster: Cluster, operator: Operator, tmp_path: Path
) -> None:
    """Ten SCPs declared on one OU: with FullAWSAccess, which AWS attaches to every target, eleven. validate refuses
    the tenth declared, the plan refuses one, and so does the operator, before any AWS call that would be refused:
    AWS ends with ten SCPs on the OU (FullAWSAccess and nine of ours), and every message counts the same way."""
    declared = [orgunit("team", name="Team")]
    declared += [scp(f"guard-{i}", document=DENY_S3, targets={"orgUnitRefs": [{"name": "team"}]}) for i in range(10)]
    (tmp_path / "lz.yaml").write_text(yaml.safe_dump_all(declared))
    counted = "11 SCPs on "
    managed = "+ FullAWSAccess, which AWS attaches to every target); AWS allows at most 10 SCPs per target"

    [finding] = validate_paths([tmp_path]).errors
    assert finding.object == "ServiceControlPolicy/guard-9" and counted in finding.message and managed in \
        finding.message, finding

    report = plan_paths([tmp_path], aws.client(), **plan_readers(aws))
    [refused] = report.problems
    assert refused.reason == "LimitExceeded" and counted in refused.text and managed in refused.text, refused
    assert sum(1 for c in report.changes if c.reason == "Attached") == 9, report.changes

    aws.reset_calls()
    for obj in declared:
        cluster.client.apply(obj)

    def settled() -> list[str] | None:
        reasons = [str((condition(cluster.get("servicecontrolpolicies", f"guard-{i}"), "Synced") or {}).get("reason"))
                   for i in range(10)]
        return reasons if sorted(reasons) == ["LimitExceeded", *["ReconcileSuccess"] * 9] else None

    reasons = wait_for(settled, timeout=60, what="nine policies attached and one refused")
    obj = cluster.get("servicecontrolpolicies", f"guard-{reasons.index('LimitExceeded')}")
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert counted in message and managed in message, message
    ou = cluster.wait_ready("orgunits", "team")["status"]["id"]
    assert len(policies_on(aws, ou)) == 10 and "FullAWSAccess" in policies_on(aws, ou)
    # none refused by AWS for the count: the operator counted first (a throttled try is AWS's, not a refusal)
    assert aws.answered_calls()["AttachPolicy"] == 9, aws.calls


def test_invalid_document_is_refused_with_the_field_and_no_aws_call(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    aws.reset_calls()
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*"},
                                                  {"Effect": "Permit", "Action": "s3:*"}]}
    cluster.client.apply(scp("bad", document=bad, targets={"root": True}))
    huge = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": [f"s3:Action{i:04d}" for i in range(800)], "Resource": "*"}]}
    cluster.client.apply(scp("huge", document=huge, targets={"root": True}))

    obj = cluster.wait_reason("servicecontrolpolicies", "bad", "Synced", "InvalidSpec")
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert 'spec.document.Statement[1].Effect: must be Allow or Deny, got "Permit"' in message
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    obj = cluster.wait_reason("servicecontrolpolicies", "huge", "Synced", "InvalidSpec")
    size = len(minify(huge))
    assert f"{size:,} characters" in condition(obj, "Synced")["message"]  # type: ignore[index]
    assert "10,240" in condition(obj, "Synced")["message"]  # type: ignore[index]
    assert obj["status"]["documentSize"] == size
    assert not POLICY_WRITES & set(aws.calls), aws.calls


def test_delete_detaches_and_deletes_retain_leaves_it(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    root = aws.ids["root_id"]
    cluster.client.apply(scp("gone", document=DENY_ROOT, targets={"root": True}))
    cluster.client.apply(scp("kept", document=DENY_S3, deletionPolicy="Retain", targets={"root": True}))
    gone = cluster.wait_ready("servicecontrolpolicies", "gone")["status"]["id"]
    kept = cluster.wait_ready("servicecontrolpolicies", "kept")["status"]["id"]

    cluster.client.delete("servicecontrolpolicies", "gone")
    cluster.client.delete("servicecontrolpolicies", "kept")
    cluster.wait_gone("servicecontrolpolicies", "gone")
    cluster.wait_gone("servicecontrolpolicies", "kept")
    names = {p["Id"] for p in aws.client().list_policies(Filter=SCP)["Policies"]}
    assert gone not in names
    assert kept in names and targets_of(aws, kept) == {root}
    assert policies_on(aws, root) == {"FullAWSAccess", "kept"}


def test_rcp_type_is_enabled_and_attached(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    rcp = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                   "Resource": "*",
                                                   "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    cluster.client.apply(scp("tls-only", type=RCP, document=rcp, targets={"root": True}))
    obj = cluster.wait_ready("servicecontrolpolicies", "tls-only")
    [root] = aws.client().list_roots()["Roots"]
    assert {t["Type"] for t in root["PolicyTypes"] if t["Status"] == "ENABLED"} == {RCP}
    assert targets_of(aws, obj["status"]["id"]) == {root["Id"]}
    assert policies_on(aws, root["Id"], RCP) == {"RCPFullAWSAccess", "tls-only"}
    [event] = events_for(cluster, "tls-only", "PolicyTypeEnabled")
    assert RCP in event["message"]


def test_last_scp_of_a_target_is_never_detached(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(orgunit("sandbox", name="Sandbox"))
    cluster.client.apply(scp("only", document=DENY_ROOT, targets={"orgUnitRefs": [{"name": "sandbox"}]}))
    policy_id = cluster.wait_ready("servicecontrolpolicies", "only")["status"]["id"]
    ou = cluster.wait_ready("orgunits", "sandbox")["status"]["id"]
    aws.client().detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou)  # "only" is now the OU's only SCP
    aws.reset_calls()

    cluster.client.patch("servicecontrolpolicies", "only", {"spec": {"targets": {"orgUnitRefs": []}}})
    obj = cluster.wait_reason("servicecontrolpolicies", "only", "Synced", "LastPolicyOnTarget")
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert f"OU 'Sandbox' ({ou})" in message and "at least one SCP" in message
    assert "DetachPolicy" not in aws.calls
    assert targets_of(aws, policy_id) == {ou}

    cluster.client.delete("servicecontrolpolicies", "only")
    obj = wait_for(lambda: (o if (o := cluster.get("servicecontrolpolicies", "only")) and "deletion waits" in (
        condition(o, "Synced") or {}).get("message", "") else None), what="the deletion to wait")
    assert obj["metadata"].get("finalizers")
    assert "DetachPolicy" not in aws.calls and "DeletePolicy" not in aws.calls

    aws.client().attach_policy(PolicyId="p-FullAWSAccess", TargetId=ou)  # the user does what the message says
    cluster.wait_gone("servicecontrolpolicies", "only", timeout=15)
    assert policies_on(aws, ou) == {"FullAWSAccess"}
    assert policy_id not in {p["Id"] for p in aws.client().list_policies(Filter=SCP)["Policies"]}


def test_drift_detached_and_edited_out_of_band_is_put_back(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    port = free_port()
    start_operator(AWSORG_RESYNC_SECONDS="3", AWSORG_METRICS_PORT=str(port))
    cluster.client.apply(orgunit("production", name="Production"))
    cluster.client.apply(scp("deny-root", document=DENY_ROOT, targets={"orgUnitRefs": [{"name": "production"}]}))
    policy_id = cluster.wait_ready("servicecontrolpolicies", "deny-root")["status"]["id"]
    ou = cluster.wait_ready("orgunits", "production")["status"]["id"]
    before = metric(scrape(port), "awsorg_drift_detected_total", kind="ServiceControlPolicy")

    org = aws.client()
    org.detach_policy(PolicyId=policy_id, TargetId=ou)
    wait_for(lambda: targets_of(aws, policy_id) == {ou}, timeout=10, what="the SCP to be attached again")
    assert metric(scrape(port), "awsorg_drift_detected_total", kind="ServiceControlPolicy") > before

    org.update_policy(PolicyId=policy_id, Content=json.dumps(DENY_S3))
    wait_for(lambda: content_of(aws, policy_id) == DENY_ROOT, timeout=10, what="the content to be put back")
    # The correcting pass's status says Corrected (the next quiet pass, InSync): wait for it, it may not be written yet.
    wait_for(lambda: (obj := cluster.get("servicecontrolpolicies", "deny-root"))
             and condition(obj, "Drifted")["reason"] == "Corrected" and obj["status"].get("drift"),
             timeout=5, interval=0.05, what="the correction in status")
    assert metric(scrape(port), "awsorg_drift_corrected_total", kind="ServiceControlPolicy") >= 2

    # Deleted in the console (detached first, as AWS requires): recreated and attached again.
    org.detach_policy(PolicyId=policy_id, TargetId=ou)
    org.delete_policy(PolicyId=policy_id)

    def recreated() -> str | None:
        new_id = ((cluster.get("servicecontrolpolicies", "deny-root") or {}).get("status") or {}).get("id")
        return new_id if new_id and new_id != policy_id and targets_of(aws, new_id) == {ou} else None

    new_id = wait_for(recreated, timeout=15, what="the deleted policy to be recreated and attached")
    assert content_of(aws, new_id) == DENY_ROOT


def test_drift_is_only_reported_under_report_policy(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    port = free_port()
    start_operator(AWSORG_RESYNC_SECONDS="2", AWSORG_DRIFT_POLICY="report", AWSORG_METRICS_PORT=str(port))
    cluster.client.apply(orgunit("production", name="Production"))
    cluster.client.apply(scp("deny-root", document=DENY_ROOT, targets={"orgUnitRefs": [{"name": "production"}]}))
    policy_id = cluster.wait_ready("servicecontrolpolicies", "deny-root")["status"]["id"]
    ou = cluster.wait_ready("orgunits", "production")["status"]["id"]
    before = metric(scrape(port), "awsorg_drift_detected_total", kind="ServiceControlPolicy")

    aws.client().detach_policy(PolicyId=policy_id, TargetId=ou)
    obj = cluster.wait_reason("servicecontrolpolicies", "deny-root", "Drifted", "DriftDetected", timeout=10)
    samples = wait_for(lambda: (m if metric(m := scrape(port), "awsorg_resource_drifted", kind="ServiceControlPolicy",
                                            name="deny-root") == 1 else None), timeout=5, what="the drifted gauge")
    assert metric(samples, "awsorg_drift_detected_total", kind="ServiceControlPolicy") > before
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert [d["field"] for d in obj["status"]["drift"]] == ["targets"]
    assert obj["status"]["drift"][0]["desired"] == ou
    assert obj["status"]["attachedTargetIds"] == []
    assert targets_of(aws, policy_id) == set()

    aws.client().delete_policy(PolicyId=policy_id)  # deleted outside Git: reported, not recreated
    obj = wait_for(lambda: (o if (o := cluster.get("servicecontrolpolicies", "deny-root"))
                            and [d["field"] for d in o["status"]["drift"]] == ["exists"] else None),
                   timeout=10, what="the deleted policy to be reported")
    assert condition(obj, "Drifted")["status"] == "True"  # type: ignore[index]
    assert condition(obj, "Synced")["status"] == "True"  # type: ignore[index]
    assert "deny-root" not in {p["Name"] for p in aws.client().list_policies(Filter=SCP)["Policies"]}


def test_two_objects_declaring_one_policy_name(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(scp("guardrail", document=DENY_ROOT, targets={"root": True}))
    first = cluster.wait_ready("servicecontrolpolicies", "guardrail")
    cluster.client.apply(scp("guardrail-copy", name="guardrail", document=DENY_ROOT, targets={"root": True}))
    dup = cluster.wait_reason("servicecontrolpolicies", "guardrail-copy", "Synced", "DuplicateName")
    assert "'guardrail'" in condition(dup, "Synced")["message"]  # type: ignore[index]
    assert not dup["status"].get("id")
    names = [p["Name"] for p in aws.client().list_policies(Filter=SCP)["Policies"]]
    assert names.count("guardrail") == 1
    assert cluster.get("servicecontrolpolicies", "guardrail")["status"]["id"] == first["status"]["id"]  # type: ignore[index]
