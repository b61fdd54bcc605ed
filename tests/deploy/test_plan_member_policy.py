"""deploy/plan-member-policy.json: the read-only role `awsorg plan` assumes in member accounts
(AWSORG_PLAN_MEMBER_ROLE_NAME) grants exactly the reads the code makes through the member role, and no write.

`awsorg plan` records writes instead of making them (controller/aws/dryrun.py), so what reaches a member account
in a plan is the reads alone: the access role (IAM), the log bucket (S3) and AWS Config. They are derived from
controller/aws/member.py (IAM) and controller/aws/central_logging.py (S3, AWS Config, IAM) as in
test_iam_policy.py, but from every attribute named after an operation (a method passed to functools.partial counts
too), and kept when the operation reads: Get*, List*, Describe*, Head*.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from botocore import xform_name

from tests.deploy.test_iam_policy import S3_ACTIONS, _operations

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "deploy" / "plan-member-policy.json"
READS = re.compile(r"^(Get|List|Describe|Head)")
SERVICES = {"member.py": ("iam",), "central_logging.py": ("s3", "config", "iam", "kms")}


def reads_through_the_member_role() -> set[str]:
    found: set[str] = set()
    for file, services in SERVICES.items():
        names = {xform_name(op): (service, op) for service in services for op in _operations(service)}
        tree = ast.parse((ROOT / "controller" / "aws" / file).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in names:
                service, op = names[node.attr]
                if READS.match(op):
                    found.add(f"{service}:{S3_ACTIONS.get(op, op) if service == 's3' else op}")
    return found


def granted() -> set[str]:
    policy = json.loads(POLICY.read_text())
    assert policy["Version"] == "2012-10-17"
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_the_derivation_finds_the_reads() -> None:
    reads = reads_through_the_member_role()
    assert {"iam:GetRole", "iam:ListAttachedRolePolicies", "s3:GetBucketPolicy",
            "config:DescribeConfigurationRecorderStatus"} <= reads


def test_the_plan_member_policy_grants_exactly_the_reads_and_no_write() -> None:
    reads, policy = reads_through_the_member_role(), granted()
    assert policy == reads, {"missing": sorted(reads - policy), "extra": sorted(policy - reads)}
    assert all("*" not in action and READS.match(action.split(":", 1)[1]) for action in policy)


def test_the_example_workflow_plans_with_the_read_only_member_role() -> None:
    text = (ROOT / "docs" / "examples" / "github-workflow.yaml").read_text()
    assert "AWSORG_PLAN_MEMBER_ROLE_NAME" in text and "plan-member-policy.json" in text


def test_the_example_workflow_pins_actions_and_grants_id_token_to_the_plan_job_only() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / "docs" / "examples" / "github-workflow.yaml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), (name, step["uses"])
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False
        assert ("id-token" in job["permissions"]) == (name == "plan"), name
    plan = next(s for s in workflow["jobs"]["plan"]["steps"] if "awsorg plan" in s.get("run", ""))
    assert plan["env"]["AWSORG_PLAN_MEMBER_ROLE_NAME"]
