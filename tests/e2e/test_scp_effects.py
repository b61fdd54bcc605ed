"""SCPs apply to the operator's own calls in member accounts, in the sandbox as in AWS: the examples' region guardrail
on the Non-Production OU and AWS Config asked for in a region it denies. ``awsorg validate`` warns, with the
exemption to add; the operator reports BlockedByPolicy naming the SCP, the action and the account; with the
exemption added the baseline is compliant."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from controller.sandbox.aws import AwsSandbox
from controller.workflow.validate import validate_paths
from tests.e2e.harness import API, Cluster, Operator, account, condition, orgunit, wait_for
from tests.e2e.test_central_logging import logging_spec
from tests.e2e.test_organization import organization, shared_services

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DENIED_REGION = "ap-south-1"


def region_guardrail() -> dict[str, Any]:
    """The examples' deny-unapproved-regions, on the Non-Production OU only."""
    docs = list(yaml.safe_load_all((EXAMPLES / "20-policies.yaml").read_text()))
    found = next(d for d in docs if d["metadata"]["name"] == "deny-unapproved-regions")
    found = copy.deepcopy(found)
    found["metadata"].pop("annotations", None)
    found["spec"]["targets"] = {"orgUnitRefs": [{"name": "non-production"}]}
    return {"apiVersion": API, "kind": found["kind"], "metadata": found["metadata"], "spec": found["spec"]}


def test_a_region_guardrail_blocks_config_and_validate_said_so(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator], tmp_path: Path) -> None:
    spec = logging_spec(policyTypes=["SERVICE_CONTROL_POLICY"])
    spec["centralLogging"]["config"]["regions"] = ["us-east-1", DENIED_REGION]
    objects = [orgunit("non-production", name="Non-Production"), region_guardrail(),
               account("dev", accountName="Dev", email="aws-dev@example.com",
                       orgUnitRef={"name": "non-production"}),
               account("shared-services", accountName="Shared Services", email="aws-shared@example.com"),
               organization(**spec)]

    # validate, before anything is applied: the warning names the SCP, the region and the exemption
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump_all(objects))
    report = validate_paths([tmp_path])
    assert not report.errors
    [warning] = report.findings
    assert warning.severity == "warning" and warning.name == "deny-unapproved-regions"
    assert f"in {DENIED_REGION}" in warning.message and "BlockedByPolicy" in warning.message
    exemption = '"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}'
    assert exemption in warning.message

    start_operator(AWSORG_RESYNC_SECONDS="1")
    for obj in objects[:3]:
        cluster.client.apply(obj)
    cluster.wait_ready("servicecontrolpolicies", "deny-unapproved-regions", timeout=45)
    dev = str(cluster.wait_ready("awsaccounts", "dev", timeout=45)["status"]["id"])
    shared = shared_services(cluster)
    cluster.client.apply(objects[4])

    obj = cluster.wait_reason("organizations", "organization", "Baseline", "BlockedByPolicy", timeout=60)
    policy_id = cluster.get("servicecontrolpolicies", "deny-unapproved-regions")["status"]["id"]
    message = condition(obj, "Baseline")["message"]  # type: ignore[index]
    assert f"{dev}: BlockedByPolicy (the service control policy 'deny-unapproved-regions' ({policy_id}) denies " \
           "config:" in message and f"to the operator in account {dev}" in message
    failed = obj["status"]["baseline"]["failed"]
    assert [f["account"] for f in failed] == [dev]  # the Shared Services account, at the root, is not under it
    # AWS's own words, cut to status.baseline.failed's length (the sandbox's wording: tests/sandbox/test_aws_scp.py)
    assert "AccessDeniedException" in failed[0]["reason"]
    assert shared not in message

    # The cure the warning names: the member role exempted; the baseline then converges.
    document = json.loads(json.dumps(objects[1]["spec"]["document"]))
    document["Statement"][0]["Condition"]["ArnNotLike"] = {
        "aws:PrincipalArn": "arn:aws:iam::*:role/OrganizationAccountAccessRole"}
    cluster.client.patch("servicecontrolpolicies", "deny-unapproved-regions", {"spec": {"document": document}})
    wait_for(lambda: o if (c := condition(o := cluster.get("organizations", "organization"), "Baseline"))
             and c["status"] == "True" else None, timeout=60, what="Baseline True once the role is exempted")
    # the recorder in the region the guardrail denied before is there and recording
    creds = aws.service_client("sts").assume_role(RoleArn=f"arn:aws:iam::{dev}:role/OrganizationAccountAccessRole",
                                                  RoleSessionName="check")["Credentials"]
    regional = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                     aws_secret_access_key=creds["SecretAccessKey"],
                                     aws_session_token=creds["SessionToken"], region_name=DENIED_REGION)
    recorders = regional.client("config", endpoint_url=aws.url).describe_configuration_recorder_status()
    assert recorders["ConfigurationRecordersStatus"][0]["recording"] is True
