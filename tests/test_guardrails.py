"""The administrator's policy (controller/api/guardrails.py) and its checks (controller/planner/guardrails.py).

Table-driven: each case is a spec, a policy, what is known of the organization, and the rules it must break (none:
allowed), with the reason the case exists.
"""

from __future__ import annotations

from typing import Any

import pytest

from controller.api import guardrails
from controller.api.models import AwsAccountSpec, OrganizationSpec, OrgUnitSpec, ServiceControlPolicySpec
from controller.planner.guardrails import Facts, refusals, unchecked

MGMT = "123456789012"
MEMBER = "210987654321"
ARCHIVE = "333333333333"
ADMIN = "444444444444"
ORG = Facts(management_account_id=MGMT, organization_accounts=frozenset({MGMT, MEMBER, ARCHIVE, ADMIN}),
            delegated_administrators=frozenset({ADMIN}), log_archive_account_id=ARCHIVE,
            account_ids={"shared-services": ARCHIVE, "security": ADMIN, "dev": MEMBER})
BASELINE: dict[str, Any] = {
    "trustedServices": ["cloudtrail.amazonaws.com", "config.amazonaws.com"],
    "delegatedAdministrators": [{"accountRef": {"name": "shared-services"},
                                 "servicePrincipal": "config.amazonaws.com"}],
    "accessRole": {"roleName": "PlatformEngineer", "trustedPrincipals": [f"arn:aws:iam::{MGMT}:root"],
                   "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]},
    "centralLogging": {"accountRef": {"name": "shared-services"}, "bucketName": "example-org-log-archive",
                       "retentionDays": 365},
}


def org(**changes: Any) -> OrganizationSpec:
    spec = {**BASELINE, **changes}
    return OrganizationSpec.model_validate({k: v for k, v in spec.items() if v is not None})


def role(**changes: Any) -> dict[str, Any]:
    return {**BASELINE["accessRole"], **changes}


def policy(**sections: Any) -> guardrails.OperatorPolicy:
    return guardrails.OperatorPolicy.model_validate(sections)


CASES = [
    ("the examples' baseline passes the defaults unchanged", org(), {}, ORG, []),
    ("with nothing known (validate offline), the baseline still passes", org(), {}, Facts(), []),
    ("a principal in an external account is refused by default",
     org(accessRole=role(trustedPrincipals=["arn:aws:iam::999999999999:root"])), {}, ORG,
     ["accessRole.allowedPrincipals"]),
    ("a member account's role may be trusted by default (it is in the organization)",
     org(accessRole=role(trustedPrincipals=[f"arn:aws:iam::{MEMBER}:role/Ops"])), {}, ORG, []),
    ("an explicit pattern admits an external principal the administrator chose",
     org(accessRole=role(trustedPrincipals=["arn:aws:iam::999999999999:role/Auditor"])),
     {"accessRole": {"allowedPrincipals": ["arn:aws:iam::999999999999:role/*"]}}, ORG, []),
    ("without 'organization' in the list, an organization principal must match a pattern",
     org(), {"accessRole": {"allowedPrincipals": ["arn:aws:iam::*:role/Admin"]}}, ORG,
     ["accessRole.allowedPrincipals"]),
    ("AdministratorAccess refused when the administrator allows only read-only policies",
     org(accessRole=role(managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])),
     {"accessRole": {"allowedManagedPolicies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}}, ORG,
     ["accessRole.allowedManagedPolicies"]),
    ("Control Tower's execution role is never adopted",
     org(accessRole=role(roleName="AWSControlTowerExecution")), {}, ORG, ["accessRole.neverAdopt"]),
    ("a StackSets execution role is never adopted (pattern)",
     org(accessRole=role(roleName="stacksets-exec-0123abcd")), {}, ORG, ["accessRole.neverAdopt"]),
    ("the operator's own member role is never adopted",
     org(accessRole=role(roleName="OrganizationAccountAccessRole")), {}, ORG, ["accessRole.neverAdopt"]),
    ("delegated administration of account.amazonaws.com is refused by default",
     org(delegatedAdministrators=[{"accountRef": {"name": "dev"}, "servicePrincipal": "account.amazonaws.com"}]),
     {}, ORG, ["services.forbiddenDelegations"]),
    ("a delegated administrator outside the administrator's list is refused",
     org(), {"services": {"delegatedAdministrators": {"guardduty.amazonaws.com": [ADMIN]}}}, ORG,
     ["services.delegatedAdministrators"]),
    ("a delegated administrator on the administrator's list passes",
     org(), {"services": {"delegatedAdministrators": {"config.amazonaws.com": [ARCHIVE]}}}, ORG, []),
    ("omitting the protected administrator of a named service would deregister it",
     org(), {"services": {"protectedDelegations": {"config.amazonaws.com": [ADMIN]}}}, ORG,
     ["services.protectedDelegations"]),
    ("a protected administrator of a service the spec does not name is left alone",
     org(), {"services": {"protectedDelegations": {"guardduty.amazonaws.com": [ADMIN]}}}, ORG, []),
    ("trusted access outside the allowed services is refused",
     org(), {"services": {"allowedTrustedServices": ["cloudtrail.amazonaws.com"]}}, ORG,
     ["services.allowedTrustedServices"]),
    ("the log archive must be the administrator's account",
     org(), {"centralLogging": {"logArchiveAccountId": ADMIN}}, ORG, ["centralLogging.logArchiveAccountId"]),
    ("retention below the minimum is refused (it expires the evidence)",
     org(centralLogging={**BASELINE["centralLogging"], "retentionDays": 1}),
     {"centralLogging": {"minimumRetentionDays": 365}}, ORG, ["centralLogging.minimumRetentionDays"]),
    ("no retention (kept forever) satisfies any minimum",
     org(centralLogging={**BASELINE["centralLogging"], "retentionDays": None}),
     {"centralLogging": {"minimumRetentionDays": 3650}}, ORG, []),
    ("a required condition missing from the trust policy is refused",
     org(accessRole=role()), {"accessRole": {"requiredConditions": [
         {"operator": "StringEquals", "key": "aws:PrincipalOrgID"}]}}, ORG, ["accessRole.requiredConditions"]),
    ("a required condition carried passes; key names compared case-insensitively, as IAM does",
     org(accessRole=role(conditions=[{"operator": "StringEquals", "key": "AWS:PrincipalOrgId", "values": ["o-1"]}])),
     {"accessRole": {"requiredConditions": [{"operator": "StringEquals", "key": "aws:PrincipalOrgID"}]}}, ORG, []),
    ("another operator is not the required condition (StringLike admits what StringEquals does not)",
     org(accessRole=role(conditions=[{"operator": "StringLike", "key": "aws:PrincipalOrgID", "values": ["o-*"]}])),
     {"accessRole": {"requiredConditions": [{"operator": "StringEquals", "key": "aws:PrincipalOrgID"}]}}, ORG,
     ["accessRole.requiredConditions"]),
    ("a required condition with a value the administrator did not allow is refused",
     org(accessRole=role(conditions=[{"operator": "StringEquals", "key": "aws:PrincipalOrgID",
                                      "values": ["o-mine", "o-other"]}])),
     {"accessRole": {"requiredConditions": [{"operator": "StringEquals", "key": "aws:PrincipalOrgID",
                                             "values": ["o-mine"]}]}}, ORG, ["accessRole.requiredConditions"]),
    ("the required MFA condition with its allowed value passes",
     org(accessRole=role(conditions=[{"operator": "Bool", "key": "aws:MultiFactorAuthPresent", "values": ["true"]}])),
     {"accessRole": {"requiredConditions": [{"operator": "Bool", "key": "aws:MultiFactorAuthPresent",
                                             "values": ["true"]}]}}, ORG, []),
    ("a session longer than the administrator's bound is refused",
     org(accessRole=role(maxSessionDuration=43200)), {"accessRole": {"maxSessionDuration": 7200}}, ORG,
     ["accessRole.maxSessionDuration"]),
    ("the default session (3600) is within any bound", org(), {"accessRole": {"maxSessionDuration": 3600}}, ORG, []),
    ("deletionPolicy Delete of the Organization can be forbidden (it deletes the trail)",
     org(deletionPolicy="Delete"), {"deletion": {"organization": ["Retain"]}}, ORG, ["deletion.organization"]),
]


@pytest.mark.parametrize(("reason", "spec", "rules", "facts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_organization(reason: str, spec: OrganizationSpec, rules: dict[str, Any], facts: Facts,
                      expected: list[str]) -> None:
    found = refusals("organization", spec, None, policy(**rules), facts)
    assert [r.rule for r in found] == expected, reason
    for refusal in found:
        assert refusal.field.startswith("spec.") and str(refusal).endswith(f"(administrator's policy: {refusal.rule})")


def account(**spec: Any) -> AwsAccountSpec:
    return AwsAccountSpec.model_validate({"accountName": "Dev", "email": "dev@example.com", **spec})


ACCOUNT_CASES = [
    ("Close of an ordinary member is allowed by default (the annotation guard is separate)",
     account(deletionPolicy="Close", accountId=MEMBER), None, {}, []),
    ("Close of the management account is refused by default", account(deletionPolicy="Close", accountId=MGMT), None,
     {}, ["deletion.awsAccount"]),
    ("RemoveFromOrganization of a delegated administrator is refused by default",
     account(deletionPolicy="RemoveFromOrganization"), ADMIN, {}, ["deletion.awsAccount"]),
    ("Close of the log archive is refused by default (bound id from status)",
     account(deletionPolicy="Close"), ARCHIVE, {}, ["deletion.awsAccount"]),
    ("Close of a protected account is refused", account(deletionPolicy="Close", accountId=MEMBER), None,
     {"protected": {"accounts": [MEMBER]}}, ["deletion.awsAccount"]),
    ("Close can be forbidden altogether", account(deletionPolicy="Close"), None,
     {"deletion": {"awsAccount": ["Retain", "RemoveFromOrganization"]}}, ["deletion.awsAccount"]),
    ("Retain of the management account is fine", account(accountId=MGMT), None, {}, []),
    ("placement outside the allowed OUs is refused", account(orgUnitRef={"name": "production"}), None,
     {"accounts": {"allowedOrgUnits": ["sandbox"]}}, ["accounts.allowedOrgUnits"]),
    ("placement in an allowed OU passes", account(orgUnitRef={"name": "sandbox"}), None,
     {"accounts": {"allowedOrgUnits": ["sandbox"]}}, []),
    ("the root counts as 'root'", account(), None, {"accounts": {"allowedOrgUnits": ["root"]}}, []),
]


@pytest.mark.parametrize(("reason", "spec", "bound", "rules", "expected"), ACCOUNT_CASES,
                         ids=[c[0] for c in ACCOUNT_CASES])
def test_account(reason: str, spec: AwsAccountSpec, bound: str | None, rules: dict[str, Any],
                 expected: list[str]) -> None:
    assert [r.rule for r in refusals("dev", spec, bound, policy(**rules), ORG)] == expected, reason


def test_deletion_of_ous_and_policies_can_be_forbidden() -> None:
    rules = policy(deletion={"orgUnit": ["Retain"], "serviceControlPolicy": ["Retain"]})
    ou = OrgUnitSpec.model_validate({})
    scp = ServiceControlPolicySpec.model_validate({"document": {"Version": "2012-10-17", "Statement": []}})
    assert [r.rule for r in refusals("x", ou, None, rules, ORG)] == ["deletion.orgUnit"]
    assert [r.rule for r in refusals("x", scp, None, rules, ORG)] == ["deletion.serviceControlPolicy"]
    assert refusals("x", ou, None, guardrails.DEFAULT, ORG) == []


def test_a_refusal_of_the_conditions_names_the_rule_the_field_and_what_is_allowed() -> None:
    rules = policy(accessRole={"requiredConditions": [
        {"operator": "StringEquals", "key": "aws:PrincipalOrgID", "values": ["o-mine"]}], "maxSessionDuration": 7200})
    spec = org(accessRole=role(conditions=[{"operator": "StringEquals", "key": "aws:PrincipalOrgID",
                                            "values": ["o-other"]}], maxSessionDuration=14400))
    assert [str(r) for r in refusals("organization", spec, None, rules, ORG)] == [
        "spec.accessRole.conditions[0].values: o-other may not be values of StringEquals aws:PrincipalOrgID; "
        "allowed: o-mine (administrator's policy: accessRole.requiredConditions)",
        "spec.accessRole.maxSessionDuration: 14400 seconds is longer than allowed; allowed: 3600 to 7200 "
        "(administrator's policy: accessRole.maxSessionDuration)"]
    missing = refusals("organization", org(), None, rules, ORG)
    assert [(r.field, r.message) for r in missing] == [(
        "spec.accessRole.conditions", "the trust policy must carry the condition StringEquals aws:PrincipalOrgID "
        "with values among o-mine; add it to spec.accessRole.conditions")]


def test_offline_the_membership_rule_is_reported_as_unchecked() -> None:
    spec = org(accessRole=role(trustedPrincipals=["arn:aws:iam::999999999999:root"]))
    assert refusals("organization", spec, None, guardrails.DEFAULT, Facts()) == []
    assert unchecked(spec, guardrails.DEFAULT, Facts()) and not unchecked(spec, guardrails.DEFAULT, ORG)


@pytest.mark.parametrize(("text", "problem"), [
    ("kind: Policy\n", "kind: Value error, expected 'OperatorPolicy'"),
    ("accessRole:\n  allowedPrincipal: ['*']\n", "accessRole.allowedPrincipal: Extra inputs are not permitted"),
    ("protected:\n  accounts: ['12345']\n", "expected 12-digit account ids, got '12345'"),
    ("deletion:\n  awsAccount: [Destroy]\n", "deletion.awsAccount.0: Input should be"),
    ("centralLogging:\n  minimumRetentionDays: 0\n", "centralLogging.minimumRetentionDays"),
    ("accessRole:\n  requiredConditions: [{operator: StringEqual, key: 'aws:PrincipalOrgID'}]\n",
     "accessRole.requiredConditions.0.operator: Value error, 'StringEqual' is not an IAM condition operator"),
    ("accessRole:\n  requiredConditions: [{operator: Bool, key: MultiFactorAuthPresent}]\n",
     "accessRole.requiredConditions.0.key: Value error, 'MultiFactorAuthPresent' is not a condition key"),
    ("accessRole:\n  maxSessionDuration: 100000\n", "accessRole.maxSessionDuration: Input should be less than or "
     "equal to 43200"),
    ("[1, 2]\n", "expected a mapping at the top"),
    ("a: [\n", "not YAML"),
])
def test_a_bad_file_is_refused_naming_the_field(text: str, problem: str) -> None:
    with pytest.raises(guardrails.PolicyFileError) as info:
        guardrails.parse(text, "policy.yaml")
    assert problem in str(info.value) and str(info.value).startswith("policy.yaml: ")


def test_an_empty_file_is_the_defaults_and_a_missing_one_an_error(tmp_path: Any) -> None:
    assert guardrails.parse("", "p") == guardrails.DEFAULT == guardrails.load(None)
    (tmp_path / "p.yaml").write_text("# nothing\n")
    assert guardrails.load(tmp_path / "p.yaml") == guardrails.DEFAULT
    with pytest.raises(guardrails.PolicyFileError, match="cannot be read"):
        guardrails.load(tmp_path / "missing.yaml")
