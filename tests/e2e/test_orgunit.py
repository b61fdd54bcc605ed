"""OrgUnit end to end: the real operator (kopf) against the sandbox Kubernetes API and strict AWS sandbox.

Every test asserts on what AWS then holds (through boto3) and on what the API then holds (status,
conditions, events), never on the operator's internals.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import API, Cluster, Operator, account, condition, orgunit, wait_for

pytestmark = pytest.mark.e2e

WRITES = {
    "CreateOrganizationalUnit", "UpdateOrganizationalUnit", "DeleteOrganizationalUnit", "TagResource",
    "UntagResource",
}


def ous_under(aws: AwsSandbox, parent: str) -> dict[str, str]:
    """name -> id of the OUs directly under ``parent``, as AWS sees them."""
    pages = aws.client().get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent)
    return {ou["Name"]: ou["Id"] for page in pages for ou in page["OrganizationalUnits"]}


def tags_of(aws: AwsSandbox, resource_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in aws.client().list_tags_for_resource(ResourceId=resource_id)["Tags"]}


def test_landing_zone_ous_are_created_with_status(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    root = aws.ids["root_id"]
    for name, aws_name in [("production", "Production"), ("non-production", "Non-Production"),
                           ("infrastructure", "Infrastructure")]:
        cluster.client.apply(orgunit(name, name=aws_name, tags={"env": name}))
    objs = {n: cluster.wait_ready("orgunits", n) for n in ("production", "non-production", "infrastructure")}

    in_aws = ous_under(aws, root)
    assert set(in_aws) == {"Production", "Non-Production", "Infrastructure"}
    prod = objs["production"]
    assert prod["status"]["id"] == in_aws["Production"]
    assert prod["status"]["parentId"] == root
    assert prod["status"]["path"] == "Root/Production"
    assert prod["status"]["arn"].endswith(in_aws["Production"])
    assert prod["status"]["observedGeneration"] == prod["metadata"]["generation"]
    assert condition(prod, "Synced")["status"] == "True"  # type: ignore[index]
    assert condition(prod, "Drifted")["status"] == "False"  # type: ignore[index]
    assert tags_of(aws, in_aws["Production"]) == {"env": "production"}
    events = wait_for(lambda: [e for e in cluster.client.events()
                               if e.get("involvedObject", {}).get("name") == "production"
                               and e.get("reason") == "Created"], what="a Created event")
    assert "Production" in events[0]["message"]


def test_existing_ou_is_adopted_not_duplicated(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    root = aws.ids["root_id"]
    existing = aws.client().create_organizational_unit(ParentId=root, Name="Production")["OrganizationalUnit"]
    aws.reset_calls()
    cluster.client.apply(orgunit("production", name="Production"))
    obj = cluster.wait_ready("orgunits", "production")
    assert obj["status"]["id"] == existing["Id"]
    assert ous_under(aws, root) == {"Production": existing["Id"]}
    assert "CreateOrganizationalUnit" not in aws.calls


def test_rename_and_tags_follow_the_spec(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(orgunit("prod", name="Production", tags={"env": "prod", "owner": "platform"}))
    ou_id = cluster.wait_ready("orgunits", "prod")["status"]["id"]

    # A merge patch, as `kubectl patch --type merge` sends it: null removes the owner tag from the spec.
    cluster.client.patch("orgunits", "prod", {"spec": {"name": "Prod", "tags": {"env": "production", "owner": None}}})

    def renamed() -> bool:
        obj = cluster.get("orgunits", "prod")
        return bool(obj and obj["status"].get("observedGeneration") == obj["metadata"]["generation"]
                    and condition(obj, "Ready")["status"] == "True")  # type: ignore[index]

    wait_for(renamed, what="the rename to be synced")
    assert ous_under(aws, aws.ids["root_id"]) == {"Prod": ou_id}
    assert tags_of(aws, ou_id) == {"env": "production"}  # the exact set: owner removed
    obj = cluster.get("orgunits", "prod")
    assert obj is not None and obj["status"]["path"] == "Root/Prod"


def test_child_waits_for_its_parent(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    cluster.client.apply(orgunit("team-a", name="Team A", parentRef={"name": "non-production"}))
    waiting = cluster.wait_reason("orgunits", "team-a", "Synced", "WaitingForReference")
    assert "non-production" in condition(waiting, "Synced")["message"]  # type: ignore[index]
    assert "CreateOrganizationalUnit" not in aws.calls

    cluster.client.apply(orgunit("non-production", name="Non-Production"))
    parent = cluster.wait_ready("orgunits", "non-production")
    child = cluster.wait_ready("orgunits", "team-a")
    assert child["status"]["parentId"] == parent["status"]["id"]
    assert child["status"]["path"] == "Root/Non-Production/Team A"
    assert ous_under(aws, parent["status"]["id"]) == {"Team A": child["status"]["id"]}


def test_parent_change_is_refused_and_touches_nothing(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    cluster.client.apply(orgunit("a", name="A"))
    cluster.client.apply(orgunit("b", name="B"))
    cluster.client.apply(orgunit("child", name="Child", parentRef={"name": "a"}))
    child = cluster.wait_ready("orgunits", "child")
    a_id = cluster.wait_ready("orgunits", "a")["status"]["id"]
    cluster.wait_ready("orgunits", "b")
    aws.reset_calls()

    cluster.client.patch("orgunits", "child", {"spec": {"parentRef": {"name": "b"}}})
    refused = cluster.wait_reason("orgunits", "child", "Synced", "ImmutableField")
    assert "cannot move" in condition(refused, "Synced")["message"]  # type: ignore[index]
    assert condition(refused, "Ready")["status"] == "False"  # type: ignore[index]
    assert ous_under(aws, a_id) == {"Child": child["status"]["id"]}
    assert not WRITES & set(aws.calls)


def test_delete_policies(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    root = aws.ids["root_id"]
    cluster.client.apply(orgunit("gone", name="Gone"))
    cluster.client.apply(orgunit("kept", name="Kept", deletionPolicy="Retain"))
    cluster.wait_ready("orgunits", "gone")
    kept_id = cluster.wait_ready("orgunits", "kept")["status"]["id"]

    cluster.client.delete("orgunits", "gone")
    cluster.client.delete("orgunits", "kept")
    cluster.wait_gone("orgunits", "gone")
    cluster.wait_gone("orgunits", "kept")
    assert ous_under(aws, root) == {"Kept": kept_id}


def test_non_empty_ou_is_kept_with_a_reason_until_emptied(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    cluster.client.apply(orgunit("parent", name="Parent"))
    parent_id = cluster.wait_ready("orgunits", "parent")["status"]["id"]
    stray = aws.client().create_organizational_unit(ParentId=parent_id, Name="Stray")["OrganizationalUnit"]

    cluster.client.delete("orgunits", "parent")
    obj = cluster.wait_reason("orgunits", "parent", "Synced", "OrgUnitNotEmpty")
    assert "Stray" in condition(obj, "Synced")["message"]  # type: ignore[index]
    assert obj["metadata"].get("deletionTimestamp")
    assert obj["metadata"].get("finalizers")
    assert "Parent" in ous_under(aws, aws.ids["root_id"])

    aws.client().delete_organizational_unit(OrganizationalUnitId=stray["Id"])  # the user empties it
    cluster.wait_gone("orgunits", "parent", timeout=30)
    assert "Parent" not in ous_under(aws, aws.ids["root_id"])


def test_observe_reports_and_never_writes(aws: AwsSandbox, cluster: Cluster, operator: Operator) -> None:
    root = aws.ids["root_id"]
    existing = aws.client().create_organizational_unit(ParentId=root, Name="Legacy")["OrganizationalUnit"]
    aws.reset_calls()
    cluster.client.apply(orgunit("legacy", name="Legacy", managementPolicy="Observe", tags={"env": "x"}))
    cluster.client.apply(orgunit("missing", name="Missing", managementPolicy="Observe"))

    legacy = cluster.wait_reason("orgunits", "legacy", "Drifted", "DriftDetected")
    assert legacy["status"]["id"] == existing["Id"]
    # No actual value: the field is absent (the API server prunes nulls from a structural schema's objects).
    assert {"field": "tags.env", "desired": "x"} in legacy["status"]["drift"]
    missing = cluster.wait_reason("orgunits", "missing", "Synced", "NotFound")
    assert condition(missing, "Ready")["status"] == "False"  # type: ignore[index]
    assert not WRITES & set(aws.calls)
    assert ous_under(aws, root) == {"Legacy": existing["Id"]}


def test_drift_is_corrected_on_resync(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="3")
    cluster.client.apply(orgunit("prod", name="Production"))
    ou_id = cluster.wait_ready("orgunits", "prod")["status"]["id"]
    aws.client().update_organizational_unit(OrganizationalUnitId=ou_id, Name="Renamed-In-Console")
    wait_for(lambda: ous_under(aws, aws.ids["root_id"]) == {"Production": ou_id}, timeout=15,
             what="the out-of-band rename to be put back")
    # The status of the correcting pass says what was corrected; the next quiet pass says InSync: read the former
    # as one object (status and condition together), not whichever pass a slow reader happens to see.
    drift = {"field": "name", "desired": "Production", "actual": "Renamed-In-Console"}
    wait_for(lambda: (obj := cluster.get("orgunits", "prod")) and condition(obj, "Drifted")["reason"] == "Corrected"
             and drift in obj["status"]["drift"], timeout=5, interval=0.05, what="the correction in status")


def test_drift_is_only_reported_under_report_policy(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    start_operator(AWSORG_RESYNC_SECONDS="2", AWSORG_DRIFT_POLICY="report")
    cluster.client.apply(orgunit("prod", name="Production"))
    ou_id = cluster.wait_ready("orgunits", "prod")["status"]["id"]
    aws.client().update_organizational_unit(OrganizationalUnitId=ou_id, Name="Renamed-In-Console")
    obj = cluster.wait_reason("orgunits", "prod", "Drifted", "DriftDetected", timeout=15)
    assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert ous_under(aws, aws.ids["root_id"]) == {"Renamed-In-Console": ou_id}


def test_a_refused_ou_deletion_leaves_what_refers_to_it_ready(
    aws: AwsSandbox, cluster: Cluster, start_operator: Callable[..., Operator]
) -> None:
    """Deleting an OrgUnit AWS will not delete (OrgUnitNotEmpty: an account is in it) is that object's refusal: the
    AwsAccount in it and the ServiceControlPolicy attached to it stay Ready through the resyncs."""
    start_operator(AWSORG_RESYNC_SECONDS="1")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket",
                                                        "Resource": "*"}]}
    cluster.client.apply(orgunit("team", name="Team"))
    cluster.client.apply(account("dev", accountName="Dev", email="dev@example.com", orgUnitRef={"name": "team"}))
    cluster.client.apply({"apiVersion": API, "kind": "ServiceControlPolicy", "metadata": {"name": "guard"},
                          "spec": {"document": document, "targets": {"orgUnitRefs": [{"name": "team"}]}}})
    for plural, name in (("orgunits", "team"), ("awsaccounts", "dev"), ("servicecontrolpolicies", "guard")):
        cluster.wait_ready(plural, name, timeout=30)

    cluster.client.delete("orgunits", "team")
    cluster.wait_reason("orgunits", "team", "Synced", "OrgUnitNotEmpty")
    resynced = time.monotonic() + 3  # three resyncs

    not_ready: list[tuple[str, dict[str, str]]] = []  # every sample, not only the last one

    def three_resyncs() -> bool | None:
        for plural, name in (("awsaccounts", "dev"), ("servicecontrolpolicies", "guard")):
            ready = condition(cluster.get(plural, name), "Ready") or {}
            if ready.get("status") != "True":
                not_ready.append((name, ready))
        return True if time.monotonic() > resynced else None

    wait_for(three_resyncs, timeout=10, what="three resyncs")
    assert not_ready == [], not_ready[:3]
    assert (condition(cluster.get("orgunits", "team"), "Synced") or {}).get("reason") == "OrgUnitNotEmpty"
