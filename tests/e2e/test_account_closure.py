"""Closure as AWS runs it, end to end: CloseAccount moves the account to PENDING_CLOSURE (the object waits, Closing),
then SUSPENDED (the object is released, its last event saying the 90 days and the quota); the closure quota is
checked before CloseAccount, and a close past it waits with the remaining quota in its reason."""

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
    scrape,
    wait_for,
)

pytestmark = pytest.mark.e2e

REMAINING = "awsorg_account_closures_remaining"


def state_of(aws: AwsSandbox, account_id: str) -> str:
    return str(aws.client().describe_account(AccountId=account_id)["Account"]["Status"])


def events_of(cluster: Cluster, name: str) -> list[tuple[str, str]]:
    return [(e["reason"], e.get("message", "")) for e in cluster.client.events()
            if e["involvedObject"]["kind"] == "AwsAccount" and e["involvedObject"]["name"] == name]


def test_three_closures_then_the_quota(aws: AwsSandbox, cluster: Cluster,
                                       start_operator: Callable[..., Operator]) -> None:
    port = free_port()
    start_operator("--limits", "closures=3", AWSORG_METRICS_PORT=str(port), AWSORG_RESYNC_SECONDS="1")
    names = ["closing-0", "closing-1", "closing-2", "closing-3"]
    for i, name in enumerate(names):
        cluster.client.apply(account(name, accountName=f"Closing {i}", email=f"{name}@example.com",
                                     deletionPolicy="Close"))
    ids = {name: cluster.wait_ready("awsaccounts", name, timeout=30)["status"]["id"] for name in names}
    wait_for(lambda: metric(scrape(port), REMAINING) == 3 or None, what="3 closures remaining")
    for name in names:
        confirm_deletion(cluster, name, ids[name])

    aws.close_account_delay = 2.0  # AWS takes its time: PENDING_CLOSURE first
    for name in names[:3]:
        cluster.client.delete("awsaccounts", name)
    for name in names[:3]:
        closing = cluster.wait_reason("awsaccounts", name, "Synced", "Closing")
        assert closing["status"]["state"] == "PENDING_CLOSURE"  # the State column
        assert "PENDING_CLOSURE" in condition(closing, "Synced")["message"]  # type: ignore[index]
    assert {state_of(aws, ids[n]) for n in names[:3]} == {"PENDING_CLOSURE"}
    wait_for(lambda: metric(scrape(port), REMAINING) == 0 or None, what="the quota down by 3")

    for name in names[:3]:
        cluster.wait_gone("awsaccounts", name, timeout=30)  # released once AWS shows it SUSPENDED
        assert state_of(aws, ids[name]) == "SUSPENDED"
        released = [m for r, m in events_of(cluster, name) if r == "Released"]
        assert released and "SUSPENDED" in released[0] and "90 days" in released[0], events_of(cluster, name)
        assert "account quota" in released[0] and "closure quota" in released[0]
    assert aws.answered_calls()["CloseAccount"] == 3  # each closed once, never again while it closes

    # A fourth, past the configured quota: waits, with the remaining quota; AWS is not asked.
    cluster.client.delete("awsaccounts", names[3])
    waiting = cluster.wait_reason("awsaccounts", names[3], "Synced", "CloseQuotaReached")
    message = condition(waiting, "Synced")["message"]  # type: ignore[index]
    assert "0 of 3 closures remain" in message and "closures=3" in message, message
    assert state_of(aws, ids[names[3]]) == "ACTIVE"
    assert aws.answered_calls()["CloseAccount"] == 3
    assert cluster.get("awsaccounts", names[3]) is not None
