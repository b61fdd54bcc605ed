"""What the one reconcile engine guarantees for every kind, end to end: one object per AWS resource,
reference cycles refused with the chain named, and each failed action reported on its own while the
independent others of the same plan still run."""

from __future__ import annotations

import pytest

from controller.sandbox.aws import AwsSandbox
from tests.e2e.harness import Cluster, Operator, account, condition, orgunit, wait_for

pytestmark = pytest.mark.e2e


def ous_under(aws: AwsSandbox, parent: str) -> dict[str, str]:
    pages = aws.client().get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent)
    return {ou["Name"]: ou["Id"] for page in pages for ou in page["OrganizationalUnits"]}


def tags_of(aws: AwsSandbox, resource_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in aws.client().list_tags_for_resource(ResourceId=resource_id)["Tags"]}


def test_two_orgunits_declaring_one_ou_the_second_is_refused_and_its_deletion_keeps_the_ou(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    root = aws.ids["root_id"]
    cluster.client.apply(orgunit("workloads", name="Workloads", tags={"owner": "platform"}))
    ou_id = cluster.wait_ready("orgunits", "workloads")["status"]["id"]
    cluster.client.apply(orgunit("workloads-copy", name="Workloads", tags={"owner": "someone-else"}))

    refused = cluster.wait_reason("orgunits", "workloads-copy", "Synced", "DuplicateName")
    message = condition(refused, "Synced")["message"]  # type: ignore[index]
    assert "'Workloads'" in message and "OrgUnit 'workloads'" in message and "spec.name" in message
    assert condition(refused, "Ready")["status"] == "False"  # type: ignore[index]
    assert not (refused.get("status") or {}).get("id")  # never bound to the other object's OU
    assert ous_under(aws, root) == {"Workloads": ou_id}
    assert tags_of(aws, ou_id) == {"owner": "platform"}  # no tag fight

    cluster.client.delete("orgunits", "workloads-copy")
    cluster.wait_gone("orgunits", "workloads-copy")
    assert ous_under(aws, root) == {"Workloads": ou_id}  # the owner's OU is not deleted
    owner = cluster.get("orgunits", "workloads")
    assert condition(owner, "Ready")["status"] == "True"  # type: ignore[index]


def test_a_parent_ref_cycle_is_refused_naming_the_chain(aws: AwsSandbox, cluster: Cluster,
                                                        operator: Operator) -> None:
    cluster.client.apply(orgunit("a", name="A", parentRef={"name": "b"}))
    cluster.client.apply(orgunit("b", name="B", parentRef={"name": "c"}))
    cluster.client.apply(orgunit("c", name="C", parentRef={"name": "a"}))
    for name in ("a", "b", "c"):
        obj = cluster.wait_reason("orgunits", name, "Synced", "ReferenceCycle")
        message = condition(obj, "Synced")["message"]  # type: ignore[index]
        assert "spec.parentRef" in message
        assert "OrgUnit 'a'" in message and "OrgUnit 'b'" in message and "OrgUnit 'c'" in message
        assert condition(obj, "Ready")["status"] == "False"  # type: ignore[index]
    assert ous_under(aws, aws.ids["root_id"]) == {}
    assert "CreateOrganizationalUnit" not in aws.calls

    cluster.client.patch("orgunits", "c", {"spec": {"parentRef": None}})  # break the cycle: all converge
    for name in ("c", "b", "a"):
        cluster.wait_ready("orgunits", name)
    assert cluster.get("orgunits", "a")["status"]["path"] == "Root/C/B/A"  # type: ignore[index]


def test_a_failed_rename_does_not_hold_back_the_tags_of_the_same_edit(
    aws: AwsSandbox, cluster: Cluster, operator: Operator
) -> None:
    cluster.client.apply(account("team", accountName="Team", email="team@example.com", tags={"cost": "a"}))
    acct_id = cluster.wait_ready("awsaccounts", "team", timeout=30)["status"]["id"]

    # AWS refuses the rename (no trusted access for Account Management); the tag change goes through.
    cluster.client.patch("awsaccounts", "team", {"spec": {"accountName": "Team Renamed", "tags": {"cost": "b"}}})
    refused = cluster.wait_reason("awsaccounts", "team", "Synced", "AccountRenameFailed")
    assert "spec.accountName" in condition(refused, "Synced")["message"]  # type: ignore[index]
    wait_for(lambda: tags_of(aws, acct_id) == {"cost": "b"}, what="the tags of the same edit")
    assert aws.client().describe_account(AccountId=acct_id)["Account"]["Name"] == "Team"
    events = [e for e in cluster.client.events() if e.get("involvedObject", {}).get("name") == "team"]
    assert any(e["reason"] == "Tagged" for e in events)
    obj = cluster.get("awsaccounts", "team")
    assert not any(d["field"].startswith("tags") for d in obj["status"].get("drift", []))  # type: ignore[index]
