"""The administrator's policy on what a plan would do (controller/planner/guardrails.py ``forbidden_actions``: the
rules that need what AWS holds), and the policy file as the running operator holds it (``PolicyFile``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from controller.api import guardrails
from controller.planner.actions import (
    Action,
    AttachPolicy,
    CloseAccount,
    DeleteOU,
    DeregisterDelegatedAdministrator,
    MoveAccount,
    PutConfigRecorder,
    PutLogBucketRetention,
    PutOrganizationTrail,
    RemoveAccount,
    RenameOU,
    TagResource,
    UntagResource,
    UpdatePolicy,
)
from controller.planner.guardrails import Facts, forbidden_actions
from controller.settings import SettingsError, policy_from

MGMT, MEMBER, ARCHIVE, ADMIN = "123456789012", "210987654321", "333333333333", "444444444444"
FACTS = Facts(management_account_id=MGMT, organization_accounts=frozenset({MGMT, MEMBER, ARCHIVE, ADMIN}),
              delegated_administrators=frozenset({ADMIN}), log_archive_account_id=ARCHIVE)
WHERE = (ARCHIVE, "us-east-1", "org-logs")


def policy(**sections: Any) -> guardrails.OperatorPolicy:
    return guardrails.OperatorPolicy.model_validate(sections)


CASES: list[tuple[str, str, list[Action], dict[str, Any], dict[str, Any], list[str]]] = [
    ("retention lowered on an existing bucket is refused by default", "Organization",
     [PutLogBucketRetention(*WHERE, 1, existing=True, previous_days=365)], {}, {},
     ["centralLogging.allowRetentionDecrease"]),
    ("retention raised passes", "Organization",
     [PutLogBucketRetention(*WHERE, 3650, existing=True, previous_days=365)], {}, {}, []),
    ("a rule on a bucket whose logs were kept forever lowers retention", "Organization",
     [PutLogBucketRetention(*WHERE, 365, existing=True, previous_days=None)], {}, {},
     ["centralLogging.allowRetentionDecrease"]),
    ("a new bucket's first rule lowers nothing", "Organization", [PutLogBucketRetention(*WHERE, 1)], {}, {}, []),
    ("putting back the spec's retention after a change by hand is a correction, not a decrease", "Organization",
     [PutLogBucketRetention(*WHERE, 365, existing=True, previous_days=None)], {}, {"correcting": True}, []),
    ("the administrator may allow lowering it", "Organization",
     [PutLogBucketRetention(*WHERE, 1, existing=True, previous_days=365)],
     {"centralLogging": {"allowRetentionDecrease": True}}, {}, []),
    ("re-pointing the trail to another bucket is refused by default", "Organization",
     [PutOrganizationTrail("us-east-1", "org-trail", "elsewhere", exists=True, previous_bucket="org-logs")], {}, {},
     ["centralLogging.allowRepoint"]),
    ("a trail's other settings put back into the same bucket pass", "Organization",
     [PutOrganizationTrail("us-east-1", "org-trail", "org-logs", exists=True, previous_bucket="org-logs")], {}, {},
     []),
    ("re-pointing a member account's AWS Config to another bucket is refused by default", "Organization",
     [PutConfigRecorder(MEMBER, "us-east-1", "elsewhere", "default", previous_bucket="org-logs")], {}, {},
     ["centralLogging.allowRepoint"]),
    ("AWS Config in an account that delivers nowhere yet is new work", "Organization",
     [PutConfigRecorder(MEMBER, "us-east-1", "org-logs", "default")], {}, {}, []),
    ("a Config channel re-pointed by hand is put back (a correction)", "Organization",
     [PutConfigRecorder(MEMBER, "us-east-1", "org-logs", "default", previous_bucket="attacker")], {},
     {"correcting": True}, []),
    ("the administrator may allow re-pointing Config", "Organization",
     [PutConfigRecorder(MEMBER, "us-east-1", "elsewhere", "default", previous_bucket="org-logs")],
     {"centralLogging": {"allowRepoint": True}}, {}, []),
    ("a trail re-pointed by hand is put back (a correction)", "Organization",
     [PutOrganizationTrail("us-east-1", "org-trail", "org-logs", exists=True, previous_bucket="attacker")], {},
     {"correcting": True}, []),
    ("closing the management account is refused", "AwsAccount", [CloseAccount(MGMT)], {}, {},
     ["deletion.awsAccount"]),
    ("removing a delegated administrator is refused", "AwsAccount", [RemoveAccount(ADMIN)], {}, {},
     ["deletion.awsAccount"]),
    ("closing the log archive is refused", "AwsAccount", [CloseAccount(ARCHIVE)], {}, {}, ["deletion.awsAccount"]),
    ("closing an ordinary member passes by default", "AwsAccount", [CloseAccount(MEMBER)], {}, {}, []),
    ("Close not among the allowed deletion policies", "AwsAccount", [CloseAccount(MEMBER)],
     {"deletion": {"awsAccount": ["Retain"]}}, {}, ["deletion.awsAccount"]),
    ("a protected account is never moved", "AwsAccount", [MoveAccount(MEMBER, "r-1", "ou-1-2")],
     {"protected": {"accounts": [MEMBER]}}, {}, ["protected.accounts"]),
    ("a protected account is never untagged, may be tagged", "AwsAccount",
     [TagResource(MEMBER, {"a": "b"}), UntagResource(MEMBER, ("owner",))], {"protected": {"accounts": [MEMBER]}}, {},
     ["protected.accounts"]),
    ("a protected policy is never changed", "ServiceControlPolicy", [UpdatePolicy("p-guard", name="x")],
     {"protected": {"policies": ["p-guard"]}}, {}, ["protected.policies"]),
    ("a protected policy is never attached elsewhere", "ServiceControlPolicy",
     [AttachPolicy("p-guard", "guard", "ou-1-2", "OU 'a' (ou-1-2)")], {"protected": {"policies": ["p-guard"]}}, {},
     ["protected.policies"]),
    ("a protected OU is never renamed", "OrgUnit", [RenameOU("ou-1-2", "New", "Old")],
     {"protected": {"orgUnits": ["ou-1-2"]}}, {}, ["protected.orgUnits"]),
    ("OU deletion can be forbidden", "OrgUnit", [DeleteOU("ou-1-2", "Old")], {"deletion": {"orgUnit": ["Retain"]}}, {},
     ["deletion.orgUnit"]),
    ("the security team's delegated administrator is never deregistered", "Organization",
     [DeregisterDelegatedAdministrator(ADMIN, "guardduty.amazonaws.com", f"account {ADMIN}")],
     {"services": {"protectedDelegations": {"guardduty.amazonaws.com": [ADMIN]}}}, {},
     ["services.protectedDelegations"]),
    ("a protected OU is never adopted", "OrgUnit", [], {"protected": {"orgUnits": ["ou-1-2"]}},
     {"adopted": "ou-1-2"}, ["protected.orgUnits"]),
    ("adopting needs the ownership tag when the administrator says so", "ServiceControlPolicy", [],
     {"adoption": {"requireTag": {"managed-by": "awsorg"}}}, {"adopted": "p-x", "tags": {"team": "sec"}},
     ["adoption.requireTag"]),
    ("adopting with the ownership tag passes", "OrgUnit", [], {"adoption": {"requireTag": {"managed-by": "awsorg"}}},
     {"adopted": "ou-1-2", "tags": {"managed-by": "awsorg"}}, []),
]


@pytest.mark.parametrize(("reason", "kind", "actions", "rules", "extra", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_forbidden_actions(reason: str, kind: str, actions: list[Action], rules: dict[str, Any],
                           extra: dict[str, Any], expected: list[str]) -> None:
    found = forbidden_actions(kind, actions, policy(**rules), FACTS, **extra)
    assert [r.rule for r in found] == expected, reason
    for refusal in found:
        assert refusal.field.startswith("spec") and refusal.rule in str(refusal)


GOOD = "apiVersion: awsorg.gitops.dev/v1alpha1\nkind: OperatorPolicy\n"


def _touch(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a new mtime, whatever the clock


def test_a_changed_file_applies_and_an_invalid_change_keeps_the_last_valid_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(GOOD)
    now = [0.0]
    held = guardrails.PolicyFile(path, interval=1.0, clock=lambda: now[0])
    assert held.current() == guardrails.DEFAULT and held.version == 0

    _touch(path, GOOD + "deletion: {awsAccount: [Retain]}\n")
    assert held.current().deletion.aws_account == ("Retain", "RemoveFromOrganization", "Close")  # not looked yet
    now[0] = 1.5
    assert held.current().deletion.aws_account == ("Retain",) and held.version == 1

    _touch(path, GOOD + "deletion: {awsAccount: [Destroy]}\n")  # a typo never lifts the guardrails
    now[0] = 3.0
    assert held.current().deletion.aws_account == ("Retain",) and held.version == 1
    assert held.problem is not None and "deletion.awsAccount.0" in held.problem

    path.unlink()  # gone: the last valid policy still holds
    now[0] = 4.5
    assert held.current().deletion.aws_account == ("Retain",)
    assert held.problem is not None and "cannot be read" in held.problem

    _touch(path, GOOD)
    assert held.refresh(force=True) and held.current() == guardrails.DEFAULT and held.problem is None


def test_the_operator_refuses_to_start_on_an_invalid_file_naming_file_field_and_allowed(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("kind: OperatorPolicy\nlogging: {}\n")
    with pytest.raises(SettingsError) as info:
        policy_from(str(path))
    message = str(info.value)
    assert message.startswith(f"AWSORG_POLICY_FILE: {path}: logging: Extra inputs are not permitted; allowed: "
                              "apiVersion, kind, accessRole, services, centralLogging"), message
    assert policy_from(None).current() == guardrails.DEFAULT
