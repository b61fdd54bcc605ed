"""Drift made outside Git, found on resync and put back (or only reported), with the metrics that say so."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import Cluster, Operator, account, condition, free_port, metric, orgunit, scrape, wait_for

pytestmark = pytest.mark.e2e


def parent_of(aws: AwsSandbox, account_id: str) -> str:
    return str(aws.client().list_parents(ChildId=account_id)["Parents"][0]["Id"])


def test_account_moved_and_tags_changed_out_of_band_are_put_back(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    port = free_port()
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_METRICS_PORT=str(port))
    cluster.client.apply(orgunit("home", name="Home"))
    cluster.client.apply(orgunit("away", name="Away"))
    cluster.client.apply(account("acct", accountName="Acct", email="acct@example.com", orgUnitRef={"name": "home"},
                                 tags={"team": "a"}))
    obj = cluster.wait_ready("awsaccounts", "acct", timeout=30)
    acct_id, home = obj["status"]["id"], obj["status"]["parentId"]
    away = cluster.wait_ready("orgunits", "away")["status"]["id"]
    before = metric(scrape(port), "awsorg_drift_detected_total", kind="AwsAccount")

    org = aws.client()
    org.move_account(AccountId=acct_id, SourceParentId=home, DestinationParentId=away)
    org.tag_resource(ResourceId=acct_id, Tags=[{"Key": "team", "Value": "console"}, {"Key": "extra", "Value": "x"}])
    wait_for(lambda: parent_of(aws, acct_id) == home, timeout=15, what="the account to be moved back")
    wait_for(lambda: {t["Key"]: t["Value"] for t in org.list_tags_for_resource(ResourceId=acct_id)["Tags"]}
             == {"team": "a"}, timeout=25, what="the tags to be put back (read within 10 resyncs)")
    samples = scrape(port)
    assert metric(samples, "awsorg_drift_detected_total", kind="AwsAccount") > before
    assert metric(samples, "awsorg_drift_corrected_total", kind="AwsAccount") >= 1
    assert metric(samples, "awsorg_resource_ready", kind="AwsAccount", name="acct") == 1


def test_ou_deleted_in_aws_is_recreated(aws: AwsSandbox, cluster: Cluster,
                                        start_operator: Callable[..., Operator]) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1")
    cluster.client.apply(orgunit("sandbox", name="Sandbox"))
    old_id = cluster.wait_ready("orgunits", "sandbox")["status"]["id"]
    aws.client().delete_organizational_unit(OrganizationalUnitId=old_id)

    def recreated() -> str | None:
        obj = cluster.get("orgunits", "sandbox")
        new_id = (obj or {}).get("status", {}).get("id")
        return new_id if new_id and new_id != old_id and condition(obj, "Ready")["status"] == "True" else None  # type: ignore[index]

    new_id = wait_for(recreated, timeout=15, what="the OU to be recreated")
    names = {ou["Id"]: ou["Name"] for ou in aws.client().list_organizational_units_for_parent(
        ParentId=aws.ids["root_id"])["OrganizationalUnits"]}
    assert names == {new_id: "Sandbox"}


def test_account_closed_out_of_band_is_reported_never_recreated(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1")
    cluster.client.apply(account("doomed", accountName="Doomed", email="doomed@example.com"))
    acct_id = cluster.wait_ready("awsaccounts", "doomed", timeout=30)["status"]["id"]
    aws.client().close_account(AccountId=acct_id)
    aws.reset_calls()
    obj = cluster.wait_reason("awsaccounts", "doomed", "Synced", "AccountClosed", timeout=15)
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert {"field": "state", "desired": "ACTIVE", "actual": "PENDING_CLOSURE"} in obj["status"]["drift"] or \
        {"field": "state", "desired": "ACTIVE", "actual": "SUSPENDED"} in obj["status"]["drift"]
    assert "CreateAccount" not in aws.calls


def test_report_policy_and_unmanaged_resources_in_metrics(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    port = free_port()
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_DRIFT_POLICY="report", AWSORG_METRICS_PORT=str(port))
    cluster.client.apply(orgunit("prod", name="Production"))
    ou_id = cluster.wait_ready("orgunits", "prod")["status"]["id"]
    aws.client().update_organizational_unit(OrganizationalUnitId=ou_id, Name="Console-Name")
    stray = aws.client().create_organizational_unit(ParentId=aws.ids["root_id"], Name="Stray")["OrganizationalUnit"]

    obj = cluster.wait_reason("orgunits", "prod", "Drifted", "DriftDetected", timeout=15)
    assert {"field": "name", "desired": "Production", "actual": "Console-Name"} in obj["status"]["drift"]
    wait_for(lambda: metric(scrape(port), "awsorg_resource_drifted", kind="OrgUnit", name="prod") == 1,
             timeout=10, what="the drifted gauge")
    wait_for(lambda: metric(scrape(port), "awsorg_unmanaged_resources", kind="OrgUnit") == 1,
             timeout=10, what="the stray OU to be counted as unmanaged")
    samples = scrape(port)
    assert metric(samples, "awsorg_unmanaged_resources", kind="AwsAccount") == 0  # the management account is AWS's
    assert metric(samples, "awsorg_last_sync_timestamp_seconds") > 0
    assert metric(samples, "awsorg_aws_api_calls_total", operation="ListRoots", outcome="ok") >= 1
    names = {o["Name"] for o in aws.client().list_organizational_units_for_parent(
        ParentId=aws.ids["root_id"])["OrganizationalUnits"]}
    assert names == {"Console-Name", "Stray"}
    assert stray["Id"]


def test_ou_deleted_in_aws_under_report_is_reported(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="1", AWSORG_DRIFT_POLICY="report")
    cluster.client.apply(orgunit("sandbox", name="Sandbox"))
    old_id = cluster.wait_ready("orgunits", "sandbox")["status"]["id"]
    aws.client().delete_organizational_unit(OrganizationalUnitId=old_id)
    obj = cluster.wait_reason("orgunits", "sandbox", "Drifted", "DriftDetected", timeout=15)
    assert {"field": "exists", "desired": "true", "actual": "false"} in obj["status"]["drift"]
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert condition(obj, "Synced")["status"] == "True"  # type: ignore[index]
    assert not aws.client().list_organizational_units_for_parent(ParentId=aws.ids["root_id"])["OrganizationalUnits"]
