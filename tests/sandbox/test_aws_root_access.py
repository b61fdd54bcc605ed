"""The sandbox plays IAM's centralized root access, which moto 5.2.5 lacks (controller/sandbox/root_access.py): the
four organization operations answer and refuse as the IAM API reference says, and GetAccountSummary in a member
account reports what its root user holds."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from controller.sandbox.aws import AwsSandbox
from tests.sandbox.test_aws_sts import _new_account

IAM = "iam.amazonaws.com"


def refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response["ResponseMetadata"]["HTTPStatusCode"], refused.value.response["Error"]["Code"]


def test_without_trusted_access_for_iam_every_call_is_refused(aws: AwsSandbox) -> None:
    iam = aws.service_client("iam")
    for call in (iam.list_organizations_features, iam.enable_organizations_root_credentials_management,
                 iam.enable_organizations_root_sessions, iam.disable_organizations_root_sessions):
        assert refusal(call) == (400, "ServiceAccessNotEnabledException")
    assert aws.root_access_features() == set()  # nothing was enabled


def test_the_management_account_enables_lists_and_disables_the_features(aws: AwsSandbox) -> None:
    aws.client().enable_aws_service_access(ServicePrincipal=IAM)  # moto's list lacks IAM: the sandbox adds it
    iam = aws.service_client("iam")
    assert iam.list_organizations_features()["EnabledFeatures"] == []
    answer = iam.enable_organizations_root_credentials_management()
    assert answer["EnabledFeatures"] == ["RootCredentialsManagement"]
    assert answer["OrganizationId"] == aws.ids["organization_id"]  # type: ignore[index]
    assert iam.enable_organizations_root_sessions()["EnabledFeatures"] == ["RootCredentialsManagement",
                                                                            "RootSessions"]
    assert iam.enable_organizations_root_sessions()["EnabledFeatures"] == ["RootCredentialsManagement",
                                                                            "RootSessions"]  # again: no change
    assert iam.disable_organizations_root_sessions()["EnabledFeatures"] == ["RootCredentialsManagement"]
    assert iam.list_organizations_features()["EnabledFeatures"] == ["RootCredentialsManagement"]


def test_a_member_account_cannot_enable_or_list(aws: AwsSandbox) -> None:
    aws.client().enable_aws_service_access(ServicePrincipal=IAM)
    member = aws.member_client("iam", _new_account(aws))
    assert refusal(member.enable_organizations_root_sessions) == (400, "CallerIsNotManagementAccountException")
    assert refusal(member.list_organizations_features) == (
        400, "AccountNotManagementOrDelegatedAdministratorException")
    assert refusal(member.disable_organizations_root_credentials_management) == (
        400, "AccountNotManagementOrDelegatedAdministratorException")


def test_an_account_in_no_organization_is_refused(aws: AwsSandbox) -> None:
    aws.reset()  # no organization any more
    assert refusal(aws.service_client("iam").list_organizations_features) == (400, "OrganizationNotFoundException")


def test_get_account_summary_reports_the_root_users_credentials(aws: AwsSandbox) -> None:
    account = _new_account(aws)
    iam = aws.member_client("iam", account)

    def root() -> dict[str, int]:
        summary = iam.get_account_summary()["SummaryMap"]
        return {k: summary[k] for k in ("AccountPasswordPresent", "AccountAccessKeysPresent",
                                        "AccountSigningCertificatesPresent", "AccountMFAEnabled")}

    # An account Organizations creates has no root password (moto has no AccountPasswordPresent key at all).
    assert root() == {"AccountPasswordPresent": 0, "AccountAccessKeysPresent": 0,
                      "AccountSigningCertificatesPresent": 0, "AccountMFAEnabled": 0}
    aws.give_root_credentials(account, "password", "accessKeys")
    assert root() == {"AccountPasswordPresent": 1, "AccountAccessKeysPresent": 1,
                      "AccountSigningCertificatesPresent": 0, "AccountMFAEnabled": 0}
    aws.give_root_credentials(account)  # deleted
    assert set(root().values()) == {0}
    with pytest.raises(ValueError, match="unknown root credentials"):
        aws.give_root_credentials(account, "passkey")
