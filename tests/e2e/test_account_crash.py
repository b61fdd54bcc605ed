"""Crash safety of account creation: the operator is killed (SIGKILL) at each point of a creation and
restarted; exactly one account with that email must exist and the object must become Ready.

CreateAccount takes no idempotency token in AWS, so these are the tests that matter most."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import Cluster, Operator, account, wait_for

pytestmark = pytest.mark.e2e
EMAIL = "vended@example.com"


def accounts_with_email(aws: AwsSandbox, email: str) -> list[dict]:
    pages = aws.client().get_paginator("list_accounts").paginate()
    return [a for p in pages for a in p["Accounts"] if a["Email"].lower() == email.lower()]


def restart_and_check(aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]) -> None:
    start_operator()
    obj = cluster.wait_ready("awsaccounts", "vended", timeout=40)
    matching = accounts_with_email(aws, EMAIL)
    assert len(matching) == 1, f"expected exactly one account with {EMAIL}, got {matching}"
    assert obj["status"]["id"] == matching[0]["Id"]
    assert aws.answered_calls()["CreateAccount"] == 1


def test_killed_after_recording_intent_before_calling_create(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    # The operator cannot get past the recovery check that precedes CreateAccount.
    aws.inject_error("ListCreateAccountStatus", "AccessDeniedException", times=1000)
    first = start_operator()
    cluster.client.apply(account("vended", accountName="Vended", email=EMAIL))
    wait_for(lambda: (cluster.get("awsaccounts", "vended") or {}).get("status", {}).get("creationStartedAt"),
             what="the intent to be recorded")
    first.kill()
    assert "CreateAccount" not in aws.calls
    aws.clear_injected_errors()
    restart_and_check(aws, cluster, start_operator)


def test_killed_after_create_account_before_the_status_write(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    aws.create_account_delay = 5.0  # still IN_PROGRESS after the restart: not yet visible by email
    aws.inject_response_delay("CreateAccount", 30.0)  # AWS acts at once; the operator never hears back
    first = start_operator()
    cluster.client.apply(account("vended", accountName="Vended", email=EMAIL))
    wait_for(lambda: "CreateAccount" in aws.calls, what="CreateAccount to be called")
    time.sleep(0.3)
    first.kill()
    status = (cluster.get("awsaccounts", "vended") or {}).get("status", {})
    assert status.get("creationStartedAt") and not status.get("createAccountRequestId")
    aws.clear_injected_errors()
    restart_and_check(aws, cluster, start_operator)


def test_killed_while_creation_is_in_progress(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    aws.create_account_delay = 3.0
    first = start_operator()
    cluster.client.apply(account("vended", accountName="Vended", email=EMAIL))
    wait_for(lambda: (cluster.get("awsaccounts", "vended") or {}).get("status", {}).get("createAccountRequestId"),
             what="the request id to be recorded")
    first.kill()
    restart_and_check(aws, cluster, start_operator)


def test_killed_in_progress_and_restarted_after_success(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    aws.create_account_delay = 1.0
    aws.inject_response_delay("CreateAccount", 30.0)
    first = start_operator()
    cluster.client.apply(account("vended", accountName="Vended", email=EMAIL))
    wait_for(lambda: "CreateAccount" in aws.calls, what="CreateAccount to be called")
    time.sleep(0.2)
    first.kill()
    time.sleep(1.5)  # the creation finishes while no operator runs: found by email on restart
    aws.clear_injected_errors()
    restart_and_check(aws, cluster, start_operator)
