"""The operator's own reading of SCPs (controller/planner/scp_effects.py): BlockedByPolicy from AWS's AccessDenied, and
validate's warnings when declared SCPs would deny the Organization's baseline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from controller.planner import scp_effects
from controller.planner.access_role import not_reached
from controller.state import MemberConfig
from controller.workflow.validate import validate_paths

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ACCOUNT = "222233334444"
# AWS Security Blog, "Enhanced access denied error messages with policy ARNs" (2025), the enhanced form:
BLOG = ("ListRoles: AccessDenied: User: arn:aws:iam::123456789012:user/Matt is not authorized to perform: "
        "iam:ListRoles on resource: arn:aws:iam::123456789012:role/* with an explicit deny in a service control "
        "policy: "
        "arn:aws:organizations::987654321098:policy/o-qv5af4abcd/service_control_policy/p-2kgnabcd")


def test_the_enhanced_message_names_the_action_and_the_policy() -> None:
    denial = scp_effects.denial_in(BLOG)
    assert denial == scp_effects.PolicyDenial("service control policy", "iam:ListRoles", True, "p-2kgnabcd")


def test_the_older_and_the_implicit_forms() -> None:
    older = BLOG.split(": arn:aws:organizations")[0]
    assert scp_effects.denial_in(older) == scp_effects.PolicyDenial("service control policy", "iam:ListRoles", True,
                                                                    None)
    implicit = ("DescribeDeliveryChannels: AccessDeniedException: User: arn:aws:sts::1:assumed-role/R/s is not "
                "authorized to perform: config:DescribeDeliveryChannels because no service control policy allows the "
                "config:DescribeDeliveryChannels action")
    denial = scp_effects.denial_in(implicit)
    assert denial is not None and not denial.explicit and denial.action == "config:DescribeDeliveryChannels"
    rcp = BLOG.replace("service control policy: arn:aws:organizations::987654321098:policy/o-qv5af4abcd/"
                       "service_control_policy", "resource control policy: arn:aws:organizations::987654321098:"
                       "policy/o-qv5af4abcd/resource_control_policy")
    assert scp_effects.denial_in(rcp) == scp_effects.PolicyDenial("resource control policy", "iam:ListRoles", True,
                                                                  "p-2kgnabcd")


@pytest.mark.parametrize("error", [
    "GetRole: AccessDenied: User: x is not authorized to perform: iam:GetRole on resource: y",  # an IAM policy
    "GetRole: NoSuchEntity: The role with name x cannot be found.",
])
def test_other_errors_are_not_policy_denials(error: str) -> None:
    assert scp_effects.denial_in(error) is None


def test_a_look_refused_by_an_scp_is_blocked_by_policy_and_names_it() -> None:
    found = not_reached(ACCOUNT, "AWS Config", MemberConfig(ACCOUNT, error=BLOG))
    assert found is not None and found.state == "failed" and found.reason == "BlockedByPolicy"
    assert found.message.startswith(f"the service control policy p-2kgnabcd denies iam:ListRoles to the operator in "
                                    f"account {ACCOUNT}")
    named = scp_effects.with_names(found.message, {"p-2kgnabcd": "deny-iam"}.get)
    assert named.startswith("the service control policy 'deny-iam' (p-2kgnabcd) denies iam:ListRoles")
    assert scp_effects.with_names(found.message, lambda _: None) == found.message
    other = not_reached(ACCOUNT, "AWS Config", MemberConfig(ACCOUNT, error="GetRole: NoSuchEntity: gone"))
    assert other is not None and other.reason == "BaselineFailed"


# ------------------------------------------------------------------------------ warnings

REGION_SCP = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyOutsideApprovedRegions", "Effect": "Deny", "NotAction": ["iam:*", "organizations:*", "sts:*"],
    "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]}
DENY_IAM = {"Version": "2012-10-17", "Statement": [{"Sid": "NoIam", "Effect": "Deny", "Action": "iam:*",
                                                    "Resource": "*"}]}
ROLE = "OrganizationAccountAccessRole"


def _warn(document: dict[str, object], baseline: scp_effects.Baseline) -> list[scp_effects.ScpWarning]:
    return scp_effects.baseline_warnings([scp_effects.DeclaredPolicy("guardrail", document,
                                                                     ("OrgUnit/non-production",))], baseline)


def test_config_in_a_region_the_guardrail_denies_warns_with_the_exemption() -> None:
    found = _warn(REGION_SCP, scp_effects.Baseline(ROLE, config_regions=("us-east-1", "ap-south-1")))
    assert len(found) == 1 and found[0].statement == "DenyOutsideApprovedRegions"
    assert "config:PutConfigurationRecorder" in found[0].message and "in ap-south-1" in found[0].message
    assert "add ap-south-1 to its aws:RequestedRegion list" in found[0].message
    assert f'"ArnNotLike": {{"aws:PrincipalArn": "arn:aws:iam::*:role/{ROLE}"}}' in found[0].message
    assert _warn(REGION_SCP, scp_effects.Baseline(ROLE, config_regions=("us-east-1", "eu-west-1"))) == []


def test_a_deny_on_iam_warns_unless_the_member_role_is_exempted() -> None:
    baseline = scp_effects.Baseline(ROLE, access_role=True)
    assert [w.statement for w in _warn(DENY_IAM, baseline)] == ["NoIam"]
    exempt = {"Statement": [{**DENY_IAM["Statement"][0],  # type: ignore[index]
                             "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/{ROLE}"}}}]}
    assert _warn(exempt, baseline) == []
    other_role = {"Statement": [{**DENY_IAM["Statement"][0],  # type: ignore[index]
                                 "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}}]}
    assert len(_warn(other_role, baseline)) == 1
    # nothing declared that calls IAM: nothing to warn about
    assert _warn(DENY_IAM, scp_effects.Baseline(ROLE)) == []


def test_a_condition_on_a_key_the_baseline_does_not_decide_is_not_a_warning() -> None:
    tagged = {"Statement": [{**DENY_IAM["Statement"][0],  # type: ignore[index]
                             "Condition": {"StringEquals": {"aws:PrincipalTag/team": "x"}}}]}
    assert _warn(tagged, scp_effects.Baseline(ROLE, access_role=True)) == []


def test_the_examples_scps_do_not_block_the_examples_baseline() -> None:
    report = validate_paths([EXAMPLES])
    assert not report.findings


def test_validate_warns_when_the_examples_config_is_asked_for_in_a_denied_region(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    org = tmp_path / "examples" / "00-organization.yaml"
    text = org.read_text()
    assert "regions: [us-east-1]" in text
    org.write_text(text.replace("regions: [us-east-1]", "regions: [us-east-1, ap-south-1]"))
    report = validate_paths([tmp_path / "examples"])
    assert not report.errors
    [warning] = report.findings
    assert warning.severity == "warning" and warning.name == "deny-unapproved-regions"
    assert "in ap-south-1" in warning.message and "BlockedByPolicy" in warning.message


def test_a_write_an_scp_denies_is_blocked_by_policy_not_an_error_retried_fast() -> None:
    from controller.aws.errors import AwsError
    from controller.planner.actions import StartConfigRecorder
    from controller.reconciler.execute import explain

    action = StartConfigRecorder(ACCOUNT, "ap-south-1", "default")
    denied = AwsError("StartConfigurationRecorder", "AccessDeniedException", BLOG.split("AccessDenied: ", 1)[1])
    failure = explain(action, denied)
    assert failure is not None and failure.reason == "BlockedByPolicy" and failure.slow
    assert failure.message.startswith(f"start AWS Config recorder 'default' in account {ACCOUNT} (ap-south-1): the "
                                      "service control policy p-2kgnabcd denies iam:ListRoles")
    other = explain(action, AwsError("StartConfigurationRecorder", "AccessDeniedException", "not authorized"))
    assert other is None or other.reason != "BlockedByPolicy"
