"""The strict sandbox plays the organization's settings as AWS does: all features as a handshake,
trusted access before delegated administration, only services that support it, and disabling a policy
type detaches its policies.  Through boto3 over HTTP, like every client of the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.organizations.models import organizations_backends

from controller.sandbox.aws import AwsSandbox

CONFIG = "config.amazonaws.com"
TAG = "TAG_POLICY"


@pytest.fixture
def org(aws: AwsSandbox) -> Any:
    return aws.client(max_attempts=1)


def refused(call: Any, code: str, reason: str | None = None) -> ClientError:
    with pytest.raises(ClientError) as info:
        call()
    err = info.value
    assert err.response["Error"]["Code"] == code, err.response
    if reason is not None:
        assert err.response.get("Reason") == reason, err.response
    return err


def member(org: Any, name: str = "shared") -> str:
    status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    return str(org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
               ["AccountId"])


def consolidated_billing(aws: AwsSandbox) -> Any:
    aws.reset()
    org = aws.client(max_attempts=1)
    org.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    return org


def admins(org: Any, principal: str) -> set[str]:
    return {a["Id"] for a in org.list_delegated_administrators(ServicePrincipal=principal)["DelegatedAdministrators"]}


# ------------------------------------------------------------------------------------------ delegated admins


def test_delegated_administration_needs_trusted_access_first(org: Any) -> None:
    """SERVICE_ACCESS_NOT_ENABLED: "You attempted to register a delegated administrator before you enabled
    service access. Call the EnableAWSServiceAccess API first." (moto registers it anyway)."""
    shared = member(org)
    refused(lambda: org.register_delegated_administrator(AccountId=shared, ServicePrincipal=CONFIG),
            "ConstraintViolationException", "SERVICE_ACCESS_NOT_ENABLED")
    org.enable_aws_service_access(ServicePrincipal=CONFIG)
    org.register_delegated_administrator(AccountId=shared, ServicePrincipal=CONFIG)
    assert admins(org, CONFIG) == {shared}  # config.amazonaws.com: moto alone refuses the principal


def test_only_services_that_support_delegated_administration(org: Any) -> None:
    """RAM supports trusted access but not a delegated administrator (user guide's table)."""
    shared = member(org)
    org.enable_aws_service_access(ServicePrincipal="ram.amazonaws.com")
    refused(lambda: org.register_delegated_administrator(AccountId=shared, ServicePrincipal="ram.amazonaws.com"),
            "InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")


def test_not_the_management_account_and_not_twice(org: Any, aws: AwsSandbox) -> None:
    assert aws.ids is not None
    shared = member(org)
    org.enable_aws_service_access(ServicePrincipal=CONFIG)
    refused(lambda: org.register_delegated_administrator(AccountId=aws.ids["management_account_id"],  # type: ignore[index]
                                                         ServicePrincipal=CONFIG),
            "ConstraintViolationException", "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR")
    org.register_delegated_administrator(AccountId=shared, ServicePrincipal=CONFIG)
    refused(lambda: org.register_delegated_administrator(AccountId=shared, ServicePrincipal=CONFIG),
            "AccountAlreadyRegisteredException")
    org.deregister_delegated_administrator(AccountId=shared, ServicePrincipal=CONFIG)
    assert admins(org, CONFIG) == set()
    refused(lambda: org.deregister_delegated_administrator(AccountId=shared, ServicePrincipal=CONFIG),
            "AccountNotRegisteredException")


def test_trusted_access_and_delegation_need_all_features(aws: AwsSandbox) -> None:
    org = consolidated_billing(aws)
    refused(lambda: org.enable_aws_service_access(ServicePrincipal=CONFIG),
            "ConstraintViolationException", "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")


# ------------------------------------------------------------------------------------------ all features


def test_enable_all_features_is_a_handshake_finalized_by_the_management_account(aws: AwsSandbox) -> None:
    org = consolidated_billing(aws)
    shared = member(org)
    # An account that joined by invitation must approve (created accounts are not asked).
    backend = organizations_backends["123456789012"]["aws"]
    next(a for a in backend.accounts if a.id == shared).joined_method = "INVITED"

    started = org.enable_all_features()["Handshake"]
    assert (started["Action"], started["State"]) == ("ENABLE_ALL_FEATURES", "OPEN")
    assert org.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"
    refused(org.enable_all_features, "HandshakeConstraintViolationException",
            "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION")
    approvals = org.list_handshakes_for_organization(Filter={"ActionType": "APPROVE_ALL_FEATURES"})["Handshakes"]
    assert approvals == []  # not before every invited account approved

    aws.strict.approve_all_features(shared)
    approve = org.list_handshakes_for_organization(Filter={"ActionType": "APPROVE_ALL_FEATURES"})["Handshakes"]
    assert [h["State"] for h in approve] == ["OPEN"]
    assert org.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"
    org.accept_handshake(HandshakeId=approve[0]["Id"])
    assert org.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    refused(lambda: org.accept_handshake(HandshakeId=approve[0]["Id"]), "HandshakeAlreadyInStateException")
    refused(org.enable_all_features, "HandshakeConstraintViolationException",
            "ORGANIZATION_ALREADY_HAS_ALL_FEATURES")


def test_without_invited_accounts_the_final_confirmation_is_at_once(aws: AwsSandbox) -> None:
    org = consolidated_billing(aws)
    member(org)  # created, not invited
    org.enable_all_features()
    approve = org.list_handshakes_for_organization(Filter={"ActionType": "APPROVE_ALL_FEATURES"})["Handshakes"]
    assert [h["State"] for h in approve] == ["OPEN"]
    refused(lambda: org.accept_handshake(HandshakeId="h-doesnotexist1"), "HandshakeNotFoundException")


# ------------------------------------------------------------------------------------------ policy types


def test_disabling_a_policy_type_detaches_its_policies(org: Any, aws: AwsSandbox) -> None:
    """User guide, "Disabling a policy type": "When you disable a policy type, all policies of the
    specified type are automatically detached from all entities in the organization root. The policies are
    not deleted." Enabled again, nothing of it is attached any more."""
    assert aws.ids is not None
    root = aws.ids["root_id"]
    org.enable_policy_type(RootId=root, PolicyType=TAG)
    content = json.dumps({"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}}}})
    pid = org.create_policy(Name="cc", Description="", Type=TAG, Content=content)["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=pid, TargetId=root)
    org.disable_policy_type(RootId=root, PolicyType=TAG)
    org.enable_policy_type(RootId=root, PolicyType=TAG)
    assert org.list_targets_for_policy(PolicyId=pid)["Targets"] == []
    assert org.describe_policy(PolicyId=pid)["Policy"]["PolicySummary"]["Name"] == "cc"  # not deleted
