"""Drift in seconds: with AWSORG_EVENTS_QUEUE_URL the operator reads AWS Organizations' CloudTrail events
(delivered by an EventBridge rule to an SQS queue, as the sandbox does for every write) and corrects a change
made behind its back at once, with the periodic resync at an hour."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import Cluster, Operator, account, free_port, metric, orgunit, scrape, wait_for

pytestmark = pytest.mark.e2e


def parent_of(aws: AwsSandbox, account_id: str) -> str:
    return str(aws.client().list_parents(ChildId=account_id)["Parents"][0]["Id"])


def test_an_account_moved_behind_the_operators_back_is_put_back_within_seconds(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    port = free_port()
    queue = aws.events_queue()
    started_at = time.time()
    start_operator(AWSORG_RESYNC_SECONDS="3600", AWSORG_EVENTS_QUEUE_URL=queue, AWSORG_METRICS_PORT=str(port))
    cluster.client.apply(orgunit("home", name="Home"))
    cluster.client.apply(orgunit("away", name="Away"))
    cluster.client.apply(account("acct", accountName="Acct", email="acct@example.com", orgUnitRef={"name": "home"}))
    obj = cluster.wait_ready("awsaccounts", "acct", timeout=30)
    acct_id, home = obj["status"]["id"], obj["status"]["parentId"]
    away = cluster.wait_ready("orgunits", "away")["status"]["id"]
    wait_for(lambda: metric(scrape(port), "awsorg_events_total", result="own") >= 3, timeout=30,
             what="the operator's own writes recognised as its own")
    # The first resync runs 5 s after the start whatever the interval (then hourly): let its read of the
    # organization end (later when AWS throttles it), so that the calls counted below are the event's alone.
    wait_for(lambda: metric(scrape(port), "awsorg_last_sync_timestamp_seconds") >= started_at + 5, timeout=30,
             what="the first resync's read of the organization")
    time.sleep(1.0)
    aws.reset_calls()

    moved_at = time.monotonic()
    aws.client().move_account(AccountId=acct_id, SourceParentId=home, DestinationParentId=away)
    wait_for(lambda: parent_of(aws, acct_id) == home, timeout=10, interval=0.1, what="the account moved back")
    print(f"drift corrected {time.monotonic() - moved_at:.1f}s after the move")
    samples = scrape(port)
    assert metric(samples, "awsorg_events_total", result="compared") >= 1
    assert metric(samples, "awsorg_drift_corrected_total", kind="AwsAccount") >= 1
    # Just that part of the organization was read again: no whole snapshot (ListRoots, ListAccountsForParent).
    calls = [c for c in aws.calls if c != "ListParents"]  # the test's own parent_of polls
    assert "MoveAccount" in calls and "DescribeAccount" in calls, calls
    # From the move behind its back on (a page of the first resync's read may still end after reset_calls
    # under load: not the event's).
    calls = calls[calls.index("MoveAccount"):]
    assert not {"ListRoots", "ListAccountsForParent", "ListOrganizationalUnitsForParent"} & set(calls), calls

    # The correction is the operator's own write: its event is ignored, not chased in a loop.
    time.sleep(2)
    assert aws.answered_calls()["MoveAccount"] == 2  # the one behind its back, and the correction
