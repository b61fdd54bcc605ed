"""ManagementPolicy end to end: the real operator against the sandbox Kubernetes API and the strict AWS sandbox.

One scenario: a tag policy and an AI services opt-out policy created, their types enabled, attached and Ready; the
tag policy changed out of band put back, an attachment removed out of band put back, a hostile document refused
with no AWS write, and the deletion detaching and deleting. Assertions are on what the sandbox's AWS holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from controller.planner.policy_document import minify
from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import API, Cluster, Operator, condition, orgunit, wait_for

pytestmark = pytest.mark.e2e

TAG = "TAG_POLICY"
AI = "AISERVICES_OPT_OUT_POLICY"
TAGS = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"},
                                "tag_value": {"@@assign": ["Development", "Support"]},
                                "enforced_for": {"@@assign": ["ec2:instance", "s3:bucket"]}}}}
OPT_OUT = {"services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}}


def mgmt(object_name: str, /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "ManagementPolicy", "metadata": {"name": object_name}, "spec": spec}


def targets_of(aws: AwsSandbox, policy_id: str) -> set[str]:
    return {t["TargetId"] for t in aws.client().list_targets_for_policy(PolicyId=policy_id)["Targets"]}


def content_of(aws: AwsSandbox, policy_id: str) -> Any:
    return json.loads(aws.client().describe_policy(PolicyId=policy_id)["Policy"]["Content"])


def test_tag_and_ai_opt_out_policies_converge_drift_back_and_delete(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1")
    root = aws.ids["root_id"]
    cluster.client.apply(orgunit("workloads", name="Workloads"))
    cluster.client.apply(mgmt("tags", type=TAG, document=TAGS, targets={"orgUnitRefs": [{"name": "workloads"}]}))
    cluster.client.apply(mgmt("ai-opt-out", type=AI, document=OPT_OUT, targets={"root": True}))
    ou = cluster.wait_ready("orgunits", "workloads")["status"]["id"]
    tags = cluster.wait_ready("managementpolicies", "tags", timeout=30)
    opt_out = cluster.wait_ready("managementpolicies", "ai-opt-out", timeout=30)
    tag_id, ai_id = tags["status"]["id"], opt_out["status"]["id"]

    org = aws.client()
    enabled = {t["Type"] for t in org.list_roots()["Roots"][0]["PolicyTypes"] if t["Status"] == "ENABLED"}
    assert {TAG, AI} <= enabled  # each type enabled on the root because a policy of it is declared
    assert org.describe_policy(PolicyId=tag_id)["Policy"]["Content"] == minify(TAGS)  # sent minified
    assert targets_of(aws, tag_id) == {ou} and targets_of(aws, ai_id) == {root}
    assert tags["status"]["attachedTargetIds"] == [ou] and tags["status"]["documentSize"] == len(minify(TAGS))

    # The tag policy edited in the console: put back on a resync.
    org.update_policy(PolicyId=tag_id, Content=json.dumps({"tags": {}}))
    wait_for(lambda: content_of(aws, tag_id) == TAGS, timeout=20, what="the tag policy's document to be put back")
    # The AI opt-out policy detached out of band: attached again.
    org.detach_policy(PolicyId=ai_id, TargetId=root)
    wait_for(lambda: targets_of(aws, ai_id) == {root}, timeout=20, what="the AI opt-out policy to be re-attached")

    # A hostile document (an AI service that does not exist) is refused before any AWS call.
    aws.reset_calls()
    cluster.client.apply(mgmt("bad", type=AI, targets={"root": True}, document={
        "services": {"rekognitoin": {"opt_out_policy": {"@@assign": "optOut"}}}}))
    bad = cluster.wait_reason("managementpolicies", "bad", "Synced", "InvalidSpec")
    assert "rekognitoin" in condition(bad, "Synced")["message"]
    assert not {"CreatePolicy", "UpdatePolicy", "AttachPolicy"} & set(aws.calls)
    cluster.client.delete("managementpolicies", "bad")

    # Deleting the objects detaches and deletes the policies.
    aws.reset_calls()
    cluster.client.delete("managementpolicies", "tags")
    cluster.client.delete("managementpolicies", "ai-opt-out")
    cluster.wait_gone("managementpolicies", "tags")
    cluster.wait_gone("managementpolicies", "ai-opt-out")
    assert {"DetachPolicy", "DeletePolicy"} <= set(aws.calls)
    left = {p["Id"] for t in (TAG, AI) for p in org.list_policies(Filter=t)["Policies"]}
    assert not left & {tag_id, ai_id}
