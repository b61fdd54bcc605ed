"""AwsAccount end to end: the real operator against the sandbox Kubernetes API and the strict AWS sandbox,
with CreateAccount staying IN_PROGRESS for a while, as in AWS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import (
    Cluster,
    Operator,
    account,
    condition,
    confirm_deletion,
    free_port,
    metric,
    orgunit,
    scrape,
    wait_for,
)

pytestmark = pytest.mark.e2e


def accounts_with_email(aws: AwsSandbox, email: str) -> list[dict]:
    pages = aws.client().get_paginator("list_accounts").paginate()
    return [a for p in pages for a in p["Accounts"] if a["Email"].lower() == email.lower()]


def parent_of(aws: AwsSandbox, account_id: str) -> str:
    return str(aws.client().list_parents(ChildId=account_id)["Parents"][0]["Id"])


def tags_of(aws: AwsSandbox, resource_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in aws.client().list_tags_for_resource(ResourceId=resource_id)["Tags"]}


def events_of(cluster: Cluster, name: str) -> list[tuple[str, str]]:
    return [(e["reason"], e.get("message", "")) for e in cluster.client.events()
            if e["involvedObject"]["kind"] == "AwsAccount" and e["involvedObject"]["name"] == name]


@pytest.fixture
def slow_create(aws: AwsSandbox) -> AwsSandbox:
    aws.create_account_delay = 1.5
    return aws


def test_account_is_created_in_its_ou(slow_create: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    aws = slow_create
    cluster.client.apply(orgunit("production", name="Production"))
    cluster.client.apply(account("prod", accountName="Production", email="prod@example.com",
                                 orgUnitRef={"name": "production"}, tags={"env": "prod"}))
    creating = cluster.wait_reason("awsaccounts", "prod", "Synced", "CreationInProgress")
    assert creating["status"]["createAccountRequestId"].startswith("car-")
    assert condition(creating, "Ready")["status"] == "False"  # type: ignore[index]

    obj = cluster.wait_ready("awsaccounts", "prod", timeout=30)
    ou_id = cluster.wait_ready("orgunits", "production")["status"]["id"]
    [acct] = accounts_with_email(aws, "prod@example.com")
    assert obj["status"]["id"] == acct["Id"]
    assert obj["status"]["state"] == "ACTIVE"
    assert obj["status"]["parentId"] == ou_id == parent_of(aws, acct["Id"])
    assert obj["status"]["path"] == "Root/Production"
    assert tags_of(aws, acct["Id"]) == {"env": "prod"}
    assert aws.answered_calls()["CreateAccount"] == 1
    # Its events say it was created (once bound, with its id), never that an existing account was adopted.
    def posted() -> list[tuple[str, str]] | None:
        found = events_of(cluster, "prod")
        return found if {"CreateAccountStarted", "CreationSucceeded", "Moved"} <= {r for r, _ in found} else None

    said = wait_for(posted, what="the creation's events")
    assert ("CreationSucceeded", f"created account {acct['Id']}") in said
    assert not [m for r, m in said if r == "Adopted" or "adopted" in m], said


def test_existing_account_is_adopted_by_email_and_by_id(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    org = aws.client()
    first = org.create_account(AccountName="Legacy", Email="legacy@example.com")["CreateAccountStatus"]
    second = org.create_account(AccountName="Other", Email="other@example.com")["CreateAccountStatus"]
    ids = {}
    for req in (first, second):
        status = wait_for(lambda r=req: (s if (s := org.describe_create_account_status(
            CreateAccountRequestId=r["Id"])["CreateAccountStatus"])["State"] == "SUCCEEDED" else None))
        ids[req["AccountName"]] = status["AccountId"]
    aws.reset_calls()

    cluster.client.apply(account("legacy", accountName="Legacy", email="legacy@example.com"))
    cluster.client.apply(account("other", accountName="Other", email="other@example.com", accountId=ids["Other"]))
    assert cluster.wait_ready("awsaccounts", "legacy")["status"]["id"] == ids["Legacy"]
    assert cluster.wait_ready("awsaccounts", "other")["status"]["id"] == ids["Other"]
    assert "CreateAccount" not in aws.calls
    said = wait_for(lambda: (e if ("Adopted", f"adopted existing account {ids['Legacy']} <legacy@example.com>") in (
        e := events_of(cluster, "legacy")) else None), what="the adoption's event")
    assert "CreationSucceeded" not in {r for r, _ in said}


def test_two_objects_with_one_email_make_one_account(
    slow_create: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    aws = slow_create
    cluster.client.apply(account("first", accountName="Shared", email="shared@example.com"))
    cluster.wait_reason("awsaccounts", "first", "Synced", "CreationInProgress")
    cluster.client.apply(account("second", accountName="Shared Again", email="shared@example.com"))
    dup = cluster.wait_reason("awsaccounts", "second", "Synced", "DuplicateEmail")
    assert "'first'" in condition(dup, "Synced")["message"]  # type: ignore[index]
    cluster.wait_ready("awsaccounts", "first", timeout=30)
    dup = cluster.wait_reason("awsaccounts", "second", "Synced", "DuplicateEmail")
    assert len(accounts_with_email(aws, "shared@example.com")) == 1
    assert aws.answered_calls()["CreateAccount"] == 1


def test_move_and_tags(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(orgunit("a", name="A"))
    cluster.client.apply(orgunit("b", name="B"))
    cluster.client.apply(account("dev", accountName="Dev", email="dev@example.com", orgUnitRef={"name": "a"},
                                 tags={"team": "x", "cost": "1"}))
    acct_id = cluster.wait_ready("awsaccounts", "dev", timeout=30)["status"]["id"]
    b_id = cluster.wait_ready("orgunits", "b")["status"]["id"]

    cluster.client.patch("awsaccounts", "dev", {"spec": {"orgUnitRef": {"name": "b"}, "tags": {"cost": None}}})
    wait_for(lambda: parent_of(aws, acct_id) == b_id, what="the account to move to B")
    wait_for(lambda: tags_of(aws, acct_id) == {"team": "x"}, what="the tags to be the exact set")
    obj = wait_for(lambda: (o if (o := cluster.get("awsaccounts", "dev")) and o["status"].get("path") == "Root/B"
                            else None))
    assert obj["status"]["parentId"] == b_id
    assert len(accounts_with_email(aws, "dev@example.com")) == 1


def test_default_deletion_retains_the_account(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(orgunit("prod-ou", name="Production"))
    cluster.client.apply(account("prod", accountName="Prod", email="prod@example.com",
                                 orgUnitRef={"name": "prod-ou"}))
    obj = cluster.wait_ready("awsaccounts", "prod", timeout=30)
    acct_id, ou_id = obj["status"]["id"], obj["status"]["parentId"]
    cluster.client.delete("awsaccounts", "prod")
    cluster.wait_gone("awsaccounts", "prod")
    [acct] = accounts_with_email(aws, "prod@example.com")
    assert acct["Id"] == acct_id and acct["Status"] == "ACTIVE"
    assert parent_of(aws, acct_id) == ou_id
    assert "CloseAccount" not in aws.calls and "RemoveAccountFromOrganization" not in aws.calls


def test_close_and_remove_policies(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(account("closing", accountName="Closing", email="closing@example.com",
                                 deletionPolicy="Close"))
    cluster.client.apply(account("leaving", accountName="Leaving", email="leaving@example.com",
                                 deletionPolicy="RemoveFromOrganization"))
    closing_id = cluster.wait_ready("awsaccounts", "closing", timeout=30)["status"]["id"]
    leaving_id = cluster.wait_ready("awsaccounts", "leaving", timeout=30)["status"]["id"]
    aws.make_standalone_ready(leaving_id)  # a person gave it phone, payment, and waited (AWS refuses before)
    confirm_deletion(cluster, "closing", closing_id)  # the second word: the id it may close
    confirm_deletion(cluster, "leaving", leaving_id)
    cluster.client.delete("awsaccounts", "closing")
    cluster.client.delete("awsaccounts", "leaving")
    cluster.wait_gone("awsaccounts", "closing")
    cluster.wait_gone("awsaccounts", "leaving")
    closed = aws.client().describe_account(AccountId=closing_id)["Account"]
    assert closed["Status"] in ("PENDING_CLOSURE", "SUSPENDED")
    assert not accounts_with_email(aws, "leaving@example.com")
    assert leaving_id not in {a["Id"] for p in aws.client().get_paginator("list_accounts").paginate()
                              for a in p["Accounts"]}


def test_management_account_is_never_closed(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    """Bound under Retain, then asked to Close: the administrator's policy refuses it
    (tests/e2e/test_operator_policy.py) and, on deletion, the planner's own rule still holds."""
    mgmt = aws.ids["management_account_id"]
    email = aws.client().describe_account(AccountId=mgmt)["Account"]["Email"]
    name = aws.client().describe_account(AccountId=mgmt)["Account"]["Name"]
    cluster.client.apply(account("mgmt", accountName=name, email=email, accountId=mgmt))
    cluster.wait_ready("awsaccounts", "mgmt")
    cluster.client.apply(account("mgmt", accountName=name, email=email, accountId=mgmt, deletionPolicy="Close"))
    cluster.wait_reason("awsaccounts", "mgmt", "Synced", "ForbiddenByPolicy")
    cluster.client.delete("awsaccounts", "mgmt")
    obj = cluster.wait_reason("awsaccounts", "mgmt", "Synced", "ManagementAccount")
    assert "never closed" in condition(obj, "Synced")["message"]  # type: ignore[index]
    assert aws.client().describe_account(AccountId=mgmt)["Account"]["Status"] == "ACTIVE"
    assert "CloseAccount" not in aws.calls


def test_observe_never_writes(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(orgunit("elsewhere", name="Elsewhere"))
    ou_id = cluster.wait_ready("orgunits", "elsewhere")["status"]["id"]
    mgmt = aws.ids["management_account_id"]
    email = aws.client().describe_account(AccountId=mgmt)["Account"]["Email"]
    aws.reset_calls()
    cluster.client.apply(account("watched", accountName="Renamed", email=email, managementPolicy="Observe",
                                 orgUnitRef={"name": "elsewhere"}))
    cluster.client.apply(account("ghost", accountName="Ghost", email="ghost@example.com",
                                 managementPolicy="Observe"))
    watched = cluster.wait_reason("awsaccounts", "watched", "Drifted", "DriftDetected")
    fields = {d["field"] for d in watched["status"]["drift"]}
    assert {"parentId", "accountName"} <= fields
    cluster.wait_reason("awsaccounts", "ghost", "Synced", "NotFound")
    writes = {"CreateAccount", "MoveAccount", "PutAccountName", "TagResource", "UntagResource", "CloseAccount"}
    assert not writes & set(aws.calls)
    assert parent_of(aws, mgmt) != ou_id


def test_at_most_five_creations_in_flight(
    slow_create: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    aws = slow_create
    aws.create_account_delay = 3.0
    start_operator()
    for i in range(7):
        cluster.client.apply(account(f"acct-{i}", accountName=f"Account {i}", email=f"a{i}@example.com"))
    waiting = wait_for(lambda: [n for i in range(7) if (o := cluster.get("awsaccounts", n := f"acct-{i}"))
                                and (condition(o, "Synced") or {}).get("reason") == "CreationLimitReached"],
                       timeout=20, what="an object waiting for a creation slot")
    assert waiting
    for i in range(7):
        cluster.wait_ready("awsaccounts", f"acct-{i}", timeout=60)
    for i in range(7):
        assert len(accounts_with_email(aws, f"a{i}@example.com")) == 1
    # Never refused for the limit: the operator kept to it (calls AWS throttled, and retried, aside).
    assert aws.answered_calls()["CreateAccount"] == 7


def test_rename_uses_the_account_management_api(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(account("team", accountName="Team", email="team@example.com"))
    acct_id = cluster.wait_ready("awsaccounts", "team", timeout=30)["status"]["id"]

    # Without trusted access for the Account Management service, AWS refuses: say what to do.
    cluster.client.patch("awsaccounts", "team", {"spec": {"accountName": "Team Renamed"}})
    refused = cluster.wait_reason("awsaccounts", "team", "Synced", "AccountRenameFailed")
    message = condition(refused, "Synced")["message"]  # type: ignore[index]
    assert "spec.accountName" in message and "account:PutAccountName" in message
    assert aws.client().describe_account(AccountId=acct_id)["Account"]["Name"] == "Team"

    aws.client().enable_aws_service_access(ServicePrincipal="account.amazonaws.com")
    wait_for(lambda: aws.client().describe_account(AccountId=acct_id)["Account"]["Name"] == "Team Renamed",
             timeout=20, what="the rename to go through")
    cluster.wait_ready("awsaccounts", "team")


def test_failed_creation_says_why(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    aws.use_email_elsewhere("taken@example.com")  # an AWS account outside the organization has it
    cluster.client.apply(account("taken", accountName="Taken", email="taken@example.com"))
    obj = cluster.wait_reason("awsaccounts", "taken", "Synced", "CreateAccountFailed", timeout=20)
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    assert "EMAIL_ALREADY_EXISTS" in message and "use another email" in message
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert not accounts_with_email(aws, "taken@example.com")
    assert aws.answered_calls()["CreateAccount"] == 1  # not retried: a person has to act


def test_closure_quota_is_temporary(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(account("closing", accountName="Closing", email="closing@example.com",
                                 deletionPolicy="Close"))
    acct_id = cluster.wait_ready("awsaccounts", "closing", timeout=30)["status"]["id"]
    aws.inject_error("CloseAccount", "ConstraintViolationException", times=2, reason="CLOSE_ACCOUNT_QUOTA_EXCEEDED",
                     message="You have exceeded close account quota for the past 30 days.")
    confirm_deletion(cluster, "closing", acct_id)
    cluster.client.delete("awsaccounts", "closing")
    obj = cluster.wait_reason("awsaccounts", "closing", "Synced", "CloseQuotaReached")
    assert "CLOSE_ACCOUNT_QUOTA_EXCEEDED" in condition(obj, "Synced")["message"]  # type: ignore[index]
    cluster.wait_gone("awsaccounts", "closing", timeout=30)  # retried with backoff once the quota allows
    assert aws.client().describe_account(AccountId=acct_id)["Account"]["Status"] in ("PENDING_CLOSURE", "SUSPENDED")


def test_aws_refusing_one_creation_too_many_is_a_wait(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    """AWS's ConstraintViolationException ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED (creations started elsewhere between
    the operator's count and its call) is the wait CreationLimitReached, not an error; the account is then made."""
    aws.inject_error("CreateAccount", "ConstraintViolationException", times=2,
                     reason="ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED",
                     message="You attempted to exceed the number of accounts that you can create at one time.")
    cluster.client.apply(account("burst", accountName="Burst", email="burst@example.com"))
    waiting = cluster.wait_reason("awsaccounts", "burst", "Synced", "CreationLimitReached")
    assert "ACCOUNT_CREATION_RATE_LIMIT_EXCEEDED" in condition(waiting, "Synced")["message"]  # type: ignore[index]
    account_id = cluster.wait_ready("awsaccounts", "burst")["status"]["id"]
    assert [a["Id"] for a in accounts_with_email(aws, "burst@example.com")] == [account_id]
    assert aws.calls.count("CreateAccount") == 3, aws.calls


def test_a_full_account_quota_backs_off_until_the_spec_or_the_limit_changes(
        aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    """Issue 21: at a full quota CreateAccount was tried at every resync (68 FAILED requests in two minutes for 41
    accounts). Now each refusal starts a wait in the object's status (a minute at a 1 s resync): nothing is called
    meanwhile, counted in awsorg_create_account_deferred_total; a spec change or a new accounts limit (a restart
    with AWSORG_LIMITS: the wait is in status, not in the process) tries at once."""
    port = free_port()
    operator = start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_METRICS_PORT=str(port))
    aws.quotas.max_accounts = 1  # the management account alone fills it (the fixture restores AWS's 10)
    names = ("q0", "q1", "q2")
    for name in names:
        cluster.client.apply(account(name, accountName=name.upper(), email=f"{name}@example.com"))
    for name in names:
        cluster.wait_reason("awsaccounts", name, "Synced", "AccountQuotaReached", timeout=30)

    # At least six resyncs of each object pass with no new CreateAccount: each a deferral.
    wait_for(lambda: metric(scrape(port), "awsorg_create_account_deferred_total") >= 6 * len(names) or None,
             timeout=30, what="six deferrals per waiting account")
    assert aws.answered_calls()["CreateAccount"] == len(names), aws.calls  # one FAILED request each, no more
    assert metric(scrape(port), "awsorg_create_account_backoff_seconds") == 60
    obj = cluster.get("awsaccounts", "q2")
    backoff = obj["status"]["creationBackoff"]  # type: ignore[index]
    assert backoff["delaySeconds"] == 60 and backoff["accounts"] == 1 and backoff["accountsLimit"] == 10, backoff
    message = condition(obj, "Synced")["message"]  # type: ignore[index]
    for words in (f"tried again at {backoff['nextAttemptAt']}", "Service Quotas",
                  '"Default maximum number of accounts"', "accounts limit is 10", "ACCOUNT_LIMIT_EXCEEDED"):
        assert words in message, (words, message)
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]

    # The quota raised (AWS shows no quota: nothing changes until the spec or the limit does); spec changes: at once.
    aws.quotas.max_accounts = 10
    for name in names[:2]:
        cluster.client.apply(account(name, accountName=name.upper(), email=f"{name}@example.com", tags={"q": "1"}))
    for name in names[:2]:
        done = cluster.wait_ready("awsaccounts", name, timeout=30)
        assert "creationBackoff" not in done["status"], done["status"]
        assert len(accounts_with_email(aws, f"{name}@example.com")) == 1
    assert (condition(cluster.get("awsaccounts", "q2"), "Synced") or {}).get("reason") == "AccountQuotaReached"
    assert accounts_with_email(aws, "q2@example.com") == []

    # A new accounts limit (the operator restarted with it): the last one is tried at once too.
    operator.stop()
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_LIMITS="accounts=20")
    cluster.wait_ready("awsaccounts", "q2", timeout=30)
    assert len(accounts_with_email(aws, "q2@example.com")) == 1
    assert aws.answered_calls()["CreateAccount"] == 2 * len(names), aws.calls
