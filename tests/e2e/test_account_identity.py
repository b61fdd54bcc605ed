"""Identity before destruction (issue 19): deleting an AwsAccount closes or removes an account only when the
object really is that account's and a person confirmed it by id.

The sequence the security review reproduced: with the landing zone Ready, an AwsAccount naming the production
account's ``accountId`` (another object owns it) with another email and ``deletionPolicy: Close`` is refused, and
deleting it must close nothing. AWS writes are counted at the sandbox (every call but reads)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from controller.api.models import CONFIRM_DELETION
from controller.sandbox.aws import AwsSandbox
from controller.workflow.validate import validate_texts
from tests.e2e.harness import Cluster, Operator, account, condition, orgunit, wait_for

pytestmark = pytest.mark.e2e

READS = ("Describe", "List", "Get", "AssumeRole")


def aws_writes(aws: AwsSandbox) -> list[str]:
    return [call for call in aws.calls if not call.startswith(READS)]


def state_of(aws: AwsSandbox, account_id: str) -> str:
    return str(aws.client().describe_account(AccountId=account_id)["Account"]["Status"])


def events_of(cluster: Cluster, name: str) -> list[tuple[str, str]]:
    return [(e["reason"], e.get("message", "")) for e in cluster.client.events()
            if e["involvedObject"]["kind"] == "AwsAccount" and e["involvedObject"]["name"] == name]


def confirmed(obj: dict[str, Any], account_id: str) -> dict[str, Any]:
    return {**obj, "metadata": {**obj["metadata"], "annotations": {CONFIRM_DELETION: account_id}}}


def production(cluster: Cluster) -> str:
    """The landing zone's production account, Ready; its id."""
    cluster.client.apply(orgunit("production-ou", name="Production"))
    cluster.client.apply(account("production", accountName="Production", email="prod@example.com",
                                 orgUnitRef={"name": "production-ou"}))
    return str(cluster.wait_ready("awsaccounts", "production", timeout=30)["status"]["id"])


def test_an_impostor_naming_the_production_account_closes_nothing(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    prod = production(cluster)
    impostor = account("impostor", accountName="Production", email="attacker@example.com", accountId=prod,
                       deletionPolicy="Close")
    # validate says what the operator does: the second object naming one account id is refused, naming the first.
    report = validate_texts([("accounts.yaml", yaml.safe_dump_all([
        account("production", accountName="Production", email="prod@example.com", accountId=prod), impostor]))])
    assert [(f.name, f.field) for f in report.errors] == [("impostor", "spec.accountId")]
    assert "AwsAccount 'production'" in report.errors[0].message and prod in report.errors[0].message

    aws.reset_calls()
    cluster.client.apply(impostor)
    refused = cluster.wait_reason("awsaccounts", "impostor", "Synced", "DuplicateAccount")
    message = condition(refused, "Synced")["message"]  # type: ignore[index]
    assert "spec.accountId" in message and prod in message and "AwsAccount 'production'" in message
    assert not (refused.get("status") or {}).get("id")  # the refusal binds nothing

    # Even with the confirmation the attacker can add: nothing is closed.
    cluster.client.apply(confirmed(impostor, prod))
    cluster.client.delete("awsaccounts", "impostor")
    cluster.wait_gone("awsaccounts", "impostor")
    assert state_of(aws, prod) == "ACTIVE"
    assert aws_writes(aws) == [], aws.calls
    assert cluster.get("awsaccounts", "production")["status"]["id"] == prod  # type: ignore[index]


def test_a_refused_binding_to_an_undeclared_account_persists_no_id(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    """An account no object declares (made outside Git), named by accountId with another email: refused as
    ImmutableField, no status.id, and deleting the object (Close, confirmed by id) closes nothing."""
    org = aws.client()
    request = org.create_account(AccountName="Outside", Email="outside@example.com")["CreateAccountStatus"]
    outside = wait_for(lambda: org.describe_create_account_status(CreateAccountRequestId=request["Id"])[
        "CreateAccountStatus"].get("AccountId"), what="the account made outside Git")
    aws.reset_calls()
    impostor = confirmed(account("impostor", accountName="Outside", email="attacker@example.com",
                                 accountId=outside, deletionPolicy="Close"), outside)
    cluster.client.apply(impostor)
    refused = cluster.wait_reason("awsaccounts", "impostor", "Synced", "ImmutableField")
    assert not (refused.get("status") or {}).get("id")
    cluster.client.delete("awsaccounts", "impostor")
    cluster.wait_gone("awsaccounts", "impostor")
    assert state_of(aws, outside) == "ACTIVE"
    assert aws_writes(aws) == [], aws.calls


def test_close_needs_the_confirmation_naming_the_account(aws: AwsSandbox, cluster: Cluster,
                                                         operator: Operator) -> None:
    """Without the annotation, or with another id, deletion closes nothing and says what to add; with the right id
    the account is closed."""
    obj = account("closing", accountName="Closing", email="closing@example.com", deletionPolicy="Close")
    cluster.client.apply(obj)
    acct = str(cluster.wait_ready("awsaccounts", "closing", timeout=30)["status"]["id"])
    aws.reset_calls()
    cluster.client.delete("awsaccounts", "closing")
    waiting = cluster.wait_reason("awsaccounts", "closing", "Synced", "DeletionNotConfirmed")
    message = condition(waiting, "Synced")["message"]  # type: ignore[index]
    assert CONFIRM_DELETION in message and acct in message and "Retain" in message
    cluster.client.patch("awsaccounts", "closing", {"metadata": {"annotations": {CONFIRM_DELETION: "999999999999"}}})
    wait_for(lambda: "999999999999" in (condition(cluster.get("awsaccounts", "closing"), "Synced") or {}).get(
        "message", ""), what="the wrong id named")
    assert state_of(aws, acct) == "ACTIVE" and aws_writes(aws) == []
    assert any(reason == "DeletionNotConfirmed" for reason, _ in events_of(cluster, "closing"))

    cluster.client.patch("awsaccounts", "closing", {"metadata": {"annotations": {CONFIRM_DELETION: acct}}})
    cluster.wait_gone("awsaccounts", "closing")
    assert state_of(aws, acct) in ("PENDING_CLOSURE", "SUSPENDED")
    assert aws_writes(aws) == ["CloseAccount"]


def test_close_refuses_an_account_whose_email_changed(aws: AwsSandbox, cluster: Cluster,
                                                       operator: Operator) -> None:
    """The account is read again before it is closed: its email in AWS no longer the one this object was bound to
    (changed outside Git), so it may not be the account meant; refused, nothing written, the finalizer kept."""
    obj = account("closing", accountName="Closing", email="closing@example.com", deletionPolicy="Close")
    cluster.client.apply(obj)
    acct = str(cluster.wait_ready("awsaccounts", "closing", timeout=30)["status"]["id"])
    aws.set_account_email(acct, "someone-else@example.com")
    aws.reset_calls()
    cluster.client.apply(confirmed(obj, acct))
    cluster.client.delete("awsaccounts", "closing")
    refused = cluster.wait_reason("awsaccounts", "closing", "Synced", "IdentityMismatch")
    message = condition(refused, "Synced")["message"]  # type: ignore[index]
    assert "someone-else@example.com" in message and "closing@example.com" in message and acct in message
    assert "DescribeAccount" in aws.calls
    assert state_of(aws, acct) == "ACTIVE" and aws_writes(aws) == []
    assert cluster.get("awsaccounts", "closing") is not None  # kept, with its finalizer, until a person decides
    cluster.client.patch("awsaccounts", "closing", {"spec": {"deletionPolicy": "Retain"}})
    cluster.wait_gone("awsaccounts", "closing")
    assert state_of(aws, acct) == "ACTIVE" and aws_writes(aws) == []
