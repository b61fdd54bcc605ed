"""The sandbox plays every AWS Organizations policy type (botocore's PolicyType enum, where moto 5.2.5 has five):
enabling and disabling each on the root, the management policy syntax, each type's size and attachment quotas, and
DescribeEffectivePolicy by AWS's inheritance rules (controller/sandbox/organizations/management.py)."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from controller.sandbox.organizations import management
from tests.sandbox.test_aws_strict import new_account, new_ou, refused

TAG = "TAG_POLICY"
BACKUP = "BACKUP_POLICY"
AI = "AISERVICES_OPT_OUT_POLICY"


@pytest.fixture
def org(aws: Any) -> Any:
    return aws.client()  # retries throttling: these tests make many calls


@pytest.fixture
def root_id(aws: Any) -> str:
    return str(aws.ids["root_id"])


def policy(org: Any, name: str, policy_type: str, doc: Any) -> str:
    content = doc if isinstance(doc, str) else json.dumps(doc)
    return str(org.create_policy(Name=name, Description="", Type=policy_type, Content=content)["Policy"]
               ["PolicySummary"]["Id"])


def effective(org: Any, account: str, policy_type: str = TAG) -> Any:
    answer = org.describe_effective_policy(PolicyType=policy_type, TargetId=account)["EffectivePolicy"]
    assert (answer["TargetId"], answer["PolicyType"]) == (account, policy_type)
    return json.loads(answer["PolicyContent"])


def test_the_policy_types_are_botocores_fifteen() -> None:
    model = botocore.session.get_session().get_service_model("organizations")
    assert tuple(model.shape_for("PolicyType").enum) == management.POLICY_TYPES
    assert len(management.POLICY_TYPES) == 15 and len(management.MANAGEMENT_POLICY_TYPES) == 13
    assert management.AUTHORIZATION_POLICY_TYPES == ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
    assert set(management.DOCUMENT_SIZE) == set(management.ATTACHMENTS_PER_TARGET) == set(
        management.MANAGEMENT_POLICY_TYPES)


def test_each_type_is_enabled_used_and_disabled_on_the_root(org: Any, root_id: str) -> None:
    account = new_account(org)
    for policy_type in management.MANAGEMENT_POLICY_TYPES:
        pid = policy(org, f"p-{policy_type.lower()}", policy_type, {"x": {"@@assign": "y"}})
        refused(lambda pid=pid: org.attach_policy(PolicyId=pid, TargetId=account), "PolicyTypeNotEnabledException")
        org.enable_policy_type(RootId=root_id, PolicyType=policy_type)
        refused(lambda t=policy_type: org.enable_policy_type(RootId=root_id, PolicyType=t),
                "PolicyTypeAlreadyEnabledException")
        org.attach_policy(PolicyId=pid, TargetId=account)
        assert [p["Id"] for p in org.list_policies_for_target(TargetId=account, Filter=policy_type)["Policies"]] == [
            pid]
        assert effective(org, account, policy_type) == {"x": "y"}
        assert [p["Id"] for p in org.list_policies(Filter=policy_type)["Policies"]] == [pid]
        org.disable_policy_type(RootId=root_id, PolicyType=policy_type)
        assert org.list_policies_for_target(TargetId=account, Filter=policy_type)["Policies"] == []
        refused(lambda t=policy_type: org.describe_effective_policy(PolicyType=t, TargetId=account),
                "EffectivePolicyNotFoundException")
    assert org.list_roots()["Roots"][0]["PolicyTypes"] == []


@pytest.mark.parametrize("content", [
    "not json",
    "[]",
    '"a string"',
    json.dumps({"tags": {"cc": {"tag_key": {"@@set": "CostCenter"}}}}),  # not an operator
    json.dumps({"tags": {"cc": {"tag_value": {"@@append": "Sandbox"}}}}),  # @@append takes a list
    json.dumps({"tags": {"@@operators_allowed_for_child_policies": ["@@everything"]}}),
    json.dumps({"tags": {"@@operators_allowed_for_child_policies": "@@none"}}),
])
def test_malformed_management_documents_are_refused(org: Any, content: str) -> None:
    refused(lambda: org.create_policy(Name="bad", Description="", Type=TAG, Content=content),
            "MalformedPolicyDocumentException")


def test_enforced_for_operator_only_in_tag_policies(org: Any) -> None:
    doc = {"x": {"@@enforced_for": ["s3:bucket"]}}
    policy(org, "tag", TAG, doc)
    refused(lambda: policy(org, "backup", BACKUP, doc), "MalformedPolicyDocumentException")


def test_updating_into_a_malformed_document_is_refused(org: Any) -> None:
    pid = policy(org, "tag", TAG, {"tags": {}})
    refused(lambda: org.update_policy(PolicyId=pid, Content='{"@@unknown": 1}'), "MalformedPolicyDocumentException")


@pytest.mark.parametrize(("policy_type", "limit"), [(TAG, 10000), (BACKUP, 10000), (AI, 2500)])
def test_documents_over_their_types_size_are_refused(org: Any, policy_type: str, limit: int) -> None:
    """Quotas page, "Maximum size of a policy document": tag and backup 10,000 characters, AI opt-out 2,500."""
    def doc(size: int) -> str:
        head = '{"x":{"@@assign":"'
        return head + "a" * (size - len(head) - 3) + '"}}'
    assert len(doc(limit)) == limit
    policy(org, "fits", policy_type, doc(limit))
    refused(lambda: policy(org, "over", policy_type, doc(limit + 1)), "ConstraintViolationException",
            "POLICY_CONTENT_LIMIT_EXCEEDED")


@pytest.mark.parametrize(("policy_type", "limit"), [(TAG, 10), (AI, 5)])
def test_attachments_past_the_types_per_target_limit_are_refused(org: Any, root_id: str, policy_type: str,
                                                                 limit: int) -> None:
    """"Maximum number you can attach to a root, OU, or account": tag policies 10, AI services opt-out 5."""
    org.enable_policy_type(RootId=root_id, PolicyType=policy_type)
    ou = new_ou(org, root_id, "ou")
    for i in range(limit):
        org.attach_policy(PolicyId=policy(org, f"p{i}", policy_type, {}), TargetId=ou)
    extra = policy(org, "extra", policy_type, {})
    refused(lambda: org.attach_policy(PolicyId=extra, TargetId=ou), "ConstraintViolationException",
            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    org.attach_policy(PolicyId=extra, TargetId=root_id)  # per target


def test_describe_effective_policy_refuses_what_aws_refuses(org: Any, root_id: str) -> None:
    org.enable_policy_type(RootId=root_id, PolicyType=TAG)
    ou = new_ou(org, root_id, "ou")
    account = new_account(org)
    refused(lambda: org.describe_effective_policy(PolicyType=TAG, TargetId=account),
            "EffectivePolicyNotFoundException")  # nothing attached on its path
    org.attach_policy(PolicyId=policy(org, "t", TAG, {}), TargetId=root_id)
    refused(lambda: org.describe_effective_policy(PolicyType=TAG, TargetId=ou), "InvalidInputException",
            "TARGET_NOT_SUPPORTED")
    refused(lambda: org.describe_effective_policy(PolicyType="SERVICE_CONTROL_POLICY", TargetId=account),
            "InvalidInputException")
    refused(lambda: org.describe_effective_policy(PolicyType=TAG, TargetId="999999999999"),
            "TargetNotFoundException")


# The Organizations User Guide's "Inheritance examples" (inheritance-examples, read 2026-12-07): the root's policy A
# and OU1's policy B, and the effective tag policy of the accounts in OU1.
POLICY_A = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"},
                                    "tag_value": {"@@assign": ["Development", "Support"]}}}}


def _in_ou1(org: Any, root_id: str, *ou1_policies: Any, root: Any = POLICY_A) -> str:
    org.enable_policy_type(RootId=root_id, PolicyType=TAG)
    ou1 = new_ou(org, root_id, "OU1")
    account = new_account(org, "acct1")
    org.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou1)
    org.attach_policy(PolicyId=policy(org, "A", TAG, root), TargetId=root_id)
    for i, doc in enumerate(ou1_policies):
        org.attach_policy(PolicyId=policy(org, f"B{i}", TAG, doc), TargetId=ou1)
    return account


def test_example_1_child_policies_overwrite_tag_values(org: Any, root_id: str) -> None:
    policy_b = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign": ["Sandbox"]},
                                        "enforced_for": {"@@assign": ["redshift:*", "dynamodb:table"]}}}}
    account = _in_ou1(org, root_id, policy_b)
    assert effective(org, account) == {"tags": {"costcenter": {
        "tag_key": "CostCenter", "tag_value": ["Sandbox"], "enforced_for": ["redshift:*", "dynamodb:table"]}}}


def test_example_2_append_values_to_inherited_tags(org: Any, root_id: str) -> None:
    policy_b = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"},
                                        "tag_value": {"@@append": ["Marketing"]}}}}
    account = _in_ou1(org, root_id, policy_b)
    assert effective(org, account)["tags"]["costcenter"]["tag_value"] == ["Development", "Support", "Marketing"]


def test_example_3_remove_values_from_inherited_tags(org: Any, root_id: str) -> None:
    policy_b = {"tags": {"costcenter": {"tag_value": {"@@remove": ["Development", "Absent"]}}}}
    account = _in_ou1(org, root_id, policy_b)
    assert effective(org, account) == {"tags": {"costcenter": {"tag_key": "CostCenter", "tag_value": ["Support"]}}}


def test_example_4_restrict_changes_to_child_policies(org: Any, root_id: str) -> None:
    """A parent's @@operators_allowed_for_child_policies ["@@none"] locks the values: the child's operators are not
    applied; a list of operators lets only those through."""
    locked = {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter",
                                                  "@@operators_allowed_for_child_policies": ["@@none"]},
                                      "tag_value": {"@@assign": ["Development", "Support"],
                                                    "@@operators_allowed_for_child_policies": ["@@append"]}}}}
    child = {"tags": {"costcenter": {"tag_key": {"@@assign": "COSTCENTER"},
                                     "tag_value": {"@@append": ["Marketing"]}}}}
    override = {"tags": {"costcenter": {"tag_value": {"@@assign": ["Sandbox"]}}}}
    account = _in_ou1(org, root_id, child, override, root=locked)
    assert effective(org, account) == {"tags": {"costcenter": {
        "tag_key": "CostCenter", "tag_value": ["Development", "Support", "Marketing"]}}}


def test_example_6_appending_at_the_same_level_merges_both(org: Any, root_id: str) -> None:
    one = {"tags": {"costcenter": {"tag_value": {"@@append": ["Marketing"]}}}}
    two = {"tags": {"costcenter": {"tag_value": {"@@append": ["Finance"]}}}}
    account = _in_ou1(org, root_id, one, two)
    assert effective(org, account)["tags"]["costcenter"]["tag_value"] == [
        "Development", "Support", "Marketing", "Finance"]


def test_a_levels_child_control_binds_the_levels_below_not_its_own(org: Any, root_id: str) -> None:
    lock = {"tags": {"costcenter": {"tag_value": {"@@operators_allowed_for_child_policies": ["@@none"]}}}}
    same_level = {"tags": {"costcenter": {"tag_value": {"@@append": ["Marketing"]}}}}
    account = _in_ou1(org, root_id, lock, same_level)
    org.attach_policy(PolicyId=policy(org, "acct", TAG, {"tags": {"costcenter": {"tag_value": {
        "@@assign": ["Sandbox"]}}}}), TargetId=account)
    assert effective(org, account)["tags"]["costcenter"]["tag_value"] == ["Development", "Support", "Marketing"]


def test_backup_policy_effective_plan_merges_regions_and_rules(org: Any, root_id: str) -> None:
    """Backup policies' documented pattern: a root plan with @@assign'ed regions, an OU appending a region and a
    rule; the effective plan has both, without operators."""
    org.enable_policy_type(RootId=root_id, PolicyType=BACKUP)
    ou = new_ou(org, root_id, "prod")
    account = new_account(org, "prod1")
    org.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=ou)
    root_plan = {"plans": {"daily": {
        "regions": {"@@assign": ["us-east-1"]},
        "rules": {"daily": {"schedule_expression": {"@@assign": "cron(0 5 ? * * *)"},
                            "target_backup_vault_name": {"@@assign": "Default"}}},
        "selections": {"tags": {"all": {"iam_role_arn": {"@@assign": "arn:aws:iam::$account:role/Backup"},
                                        "tag_key": {"@@assign": "backup"}, "tag_value": {"@@assign": ["yes"]}}}}}}}
    ou_plan = {"plans": {"daily": {"regions": {"@@append": ["eu-west-1"]},
                                   "rules": {"daily": {"lifecycle": {"delete_after_days": {"@@assign": "35"}}}}}}}
    org.attach_policy(PolicyId=policy(org, "root", BACKUP, root_plan), TargetId=root_id)
    org.attach_policy(PolicyId=policy(org, "ou", BACKUP, ou_plan), TargetId=ou)
    plan = effective(org, account, BACKUP)["plans"]["daily"]
    assert plan["regions"] == ["us-east-1", "eu-west-1"]
    assert plan["rules"]["daily"] == {"schedule_expression": "cron(0 5 ? * * *)", "target_backup_vault_name": "Default",
                                      "lifecycle": {"delete_after_days": "35"}}
    assert plan["selections"]["tags"]["all"]["tag_value"] == ["yes"]


def test_effective_policy_pure_merge() -> None:
    assert management.effective_policy([[{"a": {"@@assign": 1}}], [], [{"a": {"@@assign": 2}, "b": 3}]]) == {
        "a": 2, "b": 3}
    assert management.effective_policy([[{"a": {"@@operators_allowed_for_child_policies": ["@@none"],
                                                "@@assign": [1]}}], [{"a": {"@@append": [2]}}]]) == {"a": [1]}
