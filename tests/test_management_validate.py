"""`awsorg validate` knows the management policy syntax and each type's keys
(controller/planner/management_document.py): hostile ManagementPolicy documents are refused with the file, line,
field and what is allowed; the documented policies pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api import limits
from controller.planner.management_document import validate_management_document
from controller.workflow.validate import validate_paths

TAG = "TAG_POLICY"
AI = "AISERVICES_OPT_OUT_POLICY"
BACKUP = "BACKUP_POLICY"
GOOD_TAGS = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"},
                                     "tag_value": {"@@assign": ["Development", "Support"]},
                                     "enforced_for": {"@@assign": ["ec2:instance"]}}}}
LOCKED = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"},
                                  "tag_value": {"@@operators_allowed_for_child_policies": ["@@none"],
                                                "@@assign": ["Development", "Support"]}}}}
OPT_OUT = {"services": {"default": {"opt_out_policy": {"@@assign": "optOut"}}}}
PLAN = {"plans": {"daily": {"regions": {"@@assign": ["us-east-1"]},
                            "rules": {"daily": {"schedule_expression": {"@@assign": "cron(0 5 ? * * *)"},
                                                "target_backup_vault_name": {"@@assign": "Default"},
                                                "lifecycle": {"delete_after_days": {"@@assign": "35"}}}}}}}


def mgmt(name: str, policy_type: str, document: Any, targets: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "awsorg.gitops.dev/v1alpha1", "kind": "ManagementPolicy", "metadata": {"name": name},
            "spec": {"type": policy_type, "document": document, "targets": targets or {"root": True}}}


def orgunit(name: str) -> dict[str, Any]:
    return {"apiVersion": "awsorg.gitops.dev/v1alpha1", "kind": "OrgUnit", "metadata": {"name": name},
            "spec": {"name": name}}


def with_tag(**elements: Any) -> dict[str, Any]:
    return {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}, **elements}}}


HOSTILE = [
    ("an unknown operator", [mgmt("t", TAG, with_tag(tag_value={"@@set": ["a"]}))],
     "spec.document.tags.costcenter.tag_value.@@set", "unknown operator", "@@assign, @@append, @@remove"),
    ("@@assign where a parent allows no operator", [
        orgunit("prod"), mgmt("root-tags", TAG, LOCKED),
        mgmt("prod-tags", TAG, with_tag(tag_value={"@@assign": ["Sandbox"]}), {"orgUnitRefs": [{"name": "prod"}]})],
     "spec.document.tags.costcenter.tag_value.@@assign", "not allowed here by ManagementPolicy 'root-tags'",
     "only no operator (@@none)"),
    ("an unknown AI service",
     [mgmt("ai", AI, {"services": {"rekognitoin": {"opt_out_policy": {"@@assign": "optOut"}}}})],
     "spec.document.services.rekognitoin", "is not an AI service", "rekognition"),
    ("a tag policy over its size", [mgmt("t", TAG, {"tags": {f"k{i}": {"tag_key": {"@@assign": f"k{i}"},
                                                                       "tag_value": {"@@assign": ["x" * 200]}}
                                                            for i in range(60)}})],
     "spec.document", "AWS allows at most 10,000 for a TAG_POLICY", "management policy syntax"),
    ("an attachment past its type's per-target limit",
     [mgmt(f"ai{i}", AI, OPT_OUT) for i in range(limits.MAX_POLICIES_PER_TYPE[AI] + 1)],
     "spec.targets.root", "6 AI services opt-out policies on the root", "at most 5 AI services opt-out policies"),
    ("@@enforced_for outside a tag policy", [mgmt("b", BACKUP, {"plans": {"p": {"@@enforced_for": ["x"]}}})],
     "spec.document.plans.p.@@enforced_for", "unknown operator (tag policies only)", "@@assign"),
    ("an opt-out setting in the wrong case", [mgmt("ai", AI, {"services": {"default": {
        "opt_out_policy": {"@@assign": "OptOut"}}}})],
     "spec.document.services.default.opt_out_policy", "'OptOut' is not a setting",
     "optOut, optIn (case-sensitive)"),
    ("a resource type not written service:type",
     [mgmt("t", TAG, with_tag(enforced_for={"@@assign": ["ec2 instance"]}))],
     "spec.document.tags.costcenter.enforced_for", "is not a resource type", "service:type"),
    ("@@append of a single value", [mgmt("t", TAG, with_tag(tag_value={"@@append": "Sandbox"}))],
     "spec.document.tags.costcenter.tag_value.@@append", "takes a list", "management policy syntax"),
    ("a backup plan in a region that does not exist", [mgmt("b", BACKUP, {"plans": {"p": {
        "regions": {"@@assign": ["mars-north"]}}}})],
     "spec.document.plans.p.regions", "'mars-north' is not an AWS Region code", "us-east-1"),
    ("a backup rule element that does not exist", [mgmt("b", BACKUP, {"plans": {"p": {"rules": {"r": {
        "delete_after": {"@@assign": "35"}}}}}})],
     "spec.document.plans.p.rules.r.delete_after", "unknown element of a backup rule", "schedule_expression"),
    ("a misspelt tag policy element", [mgmt("t", TAG, with_tag(tag_values={"@@assign": ["a"]}))],
     "spec.document.tags.costcenter.tag_values", "unknown element of a tag policy's tag", "tag_value"),
]


@pytest.mark.parametrize(("case", "objects", "field", "problem", "allowed"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_management_policies_are_refused_naming_file_line_field_and_allowed(
        tmp_path: Path, case: str, objects: list[dict[str, Any]], field: str, problem: str, allowed: str) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    report = validate_paths([path])
    found = [f for f in report.findings if f.field == field]
    assert found, [(f.field, f.message) for f in report.findings]
    finding = found[0]
    assert finding.file == str(path) and finding.line > 1 and finding.kind == "ManagementPolicy"
    message, _, allowed_text = finding.message.partition("; allowed: ")
    assert problem in message, finding.message
    assert allowed in allowed_text, finding.message


def test_the_documented_policies_pass() -> None:
    for policy_type, document in ((TAG, GOOD_TAGS), (AI, OPT_OUT), (BACKUP, PLAN), (TAG, LOCKED),
                                  ("DECLARATIVE_POLICY_EC2", {"ec2_attributes": {"image_block_public_access": {
                                      "state": {"@@assign": "block_new_sharing"}}}})):
        assert validate_management_document(policy_type, document) == [], policy_type


def test_a_child_may_use_what_the_parent_allows(tmp_path: Path) -> None:
    appendable = {"tags": {"costcenter": {"tag_value": {"@@operators_allowed_for_child_policies": ["@@append"],
                                                        "@@assign": ["Development"]}}}}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump_all([
        orgunit("prod"), mgmt("root-tags", TAG, appendable),
        mgmt("prod-tags", TAG, with_tag(tag_value={"@@append": ["Sandbox"]}), {"orgUnitRefs": [{"name": "prod"}]}),
        mgmt("root-too", TAG, with_tag(tag_value={"@@assign": ["Sandbox"]})),  # same level: not restricted by it
    ], sort_keys=False))
    assert [f.message for f in validate_paths([path]).findings] == []
